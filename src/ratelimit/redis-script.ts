// The Lua scripts Redis runs. One decision is one script call, atomic, with the
// clock read from Redis (TIME) so replicas with skewed clocks agree. The rule
// is the one in verdict.ts; memory.ts implements it too: keep them in step.
import { EPSILON, MAX_IDLE_TTL_MS, NEVER_MS } from './verdict.js'

/**
 * KEYS[1] the vendor's pause key; KEYS[2..n+1] one hash per bucket (fields
 * t = tokens, at = ms of last update).
 * ARGV[1] the longest wait the call can afford (ms, from its deadline); then
 * per bucket: capacity, refill per ms, maxWait ms (-1: onLimit reject); last,
 * the lease wanted (tokens, ≥ 1).
 * Returns { refused 0/1, wait ms, retry-after ms, bucket index or -1, queued
 * bitmask, tokens taken }.
 *
 * Leasing (lease.ts): a call that every bucket can serve at once, with no
 * pause, takes up to `lease` tokens from each bucket instead of one, as many
 * as the emptiest bucket holds whole; the replica hands out the rest itself.
 * A call that queues or is refused takes one token or none, exactly as
 * without a lease.
 */
export const DECIDE_LUA = `
local EPSILON = ${EPSILON}
local NEVER = ${NEVER_MS}
local MAX_TTL = ${MAX_IDLE_TTL_MS}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local budget = tonumber(ARGV[1])
local pause = redis.call('PTTL', KEYS[1])
if pause < 0 then pause = 0 end
local n = #KEYS - 1
local lease = tonumber(ARGV[3 * n + 2]) or 1
local tokens, needs = {}, {}
local wait, longest = 0, 1
for i = 1, n do
  local cap = tonumber(ARGV[3 * i - 1])
  local rate = tonumber(ARGV[3 * i])
  local s = redis.call('HMGET', KEYS[i + 1], 't', 'at')
  local tk = cap
  if s[1] then
    tk = tonumber(s[1])
    local at = tonumber(s[2])
    if now > at then tk = tk + (now - at) * rate end
    if tk > cap then tk = cap end
  end
  local need = 0
  if tk < 1 - EPSILON then
    if rate > 0 then need = (1 - tk) / rate else need = NEVER end
  end
  if need < pause then need = pause end
  tokens[i] = tk
  needs[i] = need
  if need > wait then wait = need; longest = i end
end
local by, byNeed = 0, -1
for i = 1, n do
  local maxWait = tonumber(ARGV[3 * i + 1])
  if needs[i] > 0 and (maxWait < 0 or wait > maxWait) and needs[i] > byNeed then
    by = i
    byNeed = needs[i]
  end
end
if by == 0 and wait > 0 and wait > budget then by = longest end
if by > 0 then return { 1, 0, math.ceil(wait), by - 1, 0, 0 } end
local take = 1
if wait == 0 and lease > 1 then
  take = lease
  for i = 1, n do
    local whole = math.floor(tokens[i] + EPSILON)
    if whole < take then take = whole end
  end
  if take < 1 then take = 1 end
end
local mask = 0
for i = 1, n do
  local cap = tonumber(ARGV[3 * i - 1])
  local rate = tonumber(ARGV[3 * i])
  local tk = tokens[i] - take
  local ttl = MAX_TTL
  if rate > 0 then ttl = math.min(MAX_TTL, math.ceil((cap - tk) / rate) + 1000) end
  redis.call('HSET', KEYS[i + 1], 't', tk, 'at', now)
  redis.call('PEXPIRE', KEYS[i + 1], ttl)
  if needs[i] > 0 then mask = mask + 2 ^ (i - 1) end
end
local bucket = -1
if wait > 0 then bucket = longest - 1 end
return { 0, math.ceil(wait), 0, bucket, mask, take }
`

/**
 * Unused leased tokens going back. KEYS[1..n] one hash per bucket; ARGV[1]
 * the tokens; then per bucket: capacity, refill per ms. Each bucket is
 * refilled to now first and never goes above its capacity; an absent bucket
 * is full already.
 */
export const GIVE_BACK_LUA = `
local MAX_TTL = ${MAX_IDLE_TTL_MS}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local back = tonumber(ARGV[1])
for i = 1, #KEYS do
  local s = redis.call('HMGET', KEYS[i], 't', 'at')
  if s[1] then
    local cap = tonumber(ARGV[2 * i])
    local rate = tonumber(ARGV[2 * i + 1])
    local tk = tonumber(s[1])
    local at = tonumber(s[2])
    if now > at then tk = tk + (now - at) * rate end
    tk = tk + back
    if tk > cap then tk = cap end
    local ttl = MAX_TTL
    if rate > 0 then ttl = math.min(MAX_TTL, math.ceil((cap - tk) / rate) + 1000) end
    redis.call('HSET', KEYS[i], 't', tk, 'at', now)
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 0
`

/**
 * KEYS[1] the vendor's pause key; ARGV[1] the pause in ms. A shorter pause
 * never cuts a longer one that another replica learnt.
 */
export const PAUSE_LUA = `
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 0
`

// The Lua scripts Redis runs. One decision is one script call, atomic, with the
// clock read from Redis (TIME) so replicas with skewed clocks agree. The rule
// is the one in verdict.ts; memory.ts implements it too: keep them in step.
import { EPSILON, MAX_IDLE_TTL_MS, NEVER_MS } from './verdict.js'

/** Lua: a bucket's tokens refilled to `now`, never above capacity, from its hash fields { t, at }; an absent bucket is full. */
const REFILLED_LUA = `
local function refilled (s, cap, rate, now)
  if not s[1] then return cap end
  local tk = tonumber(s[1])
  local at = tonumber(s[2])
  if now > at then tk = tk + (now - at) * rate end
  if tk > cap then tk = cap end
  return tk
end
`

/**
 * KEYS[1] the vendor's pause key; KEYS[2..n+1] one hash per bucket (fields
 * t = tokens, at = ms of last update).
 * ARGV[1] the longest wait the call can afford (ms, from its deadline); then
 * per bucket: capacity, refill per ms, maxWait ms (-1: onLimit reject), the
 * call's cost; last, the lease wanted (tokens, ≥ 1).
 * Returns { refused 0/1 (2: a cost over the bucket's capacity), wait ms,
 * retry-after ms, bucket index or -1, queued bitmask, tokens taken (per unit
 * of cost), the bucket closest to refusing, its whole tokens left (≥ 0) }.
 *
 * Leasing (lease.ts): a call that every bucket can serve at once, with no
 * pause, takes up to `lease` tokens from each bucket instead of one, as many
 * as the emptiest bucket holds whole; the replica hands out the rest itself.
 * A call that queues or is refused takes one token or none, exactly as
 * without a lease. Weighted calls (a cost other than 1) are never leased.
 */
export const DECIDE_LUA = `${REFILLED_LUA}local EPSILON = ${EPSILON}
local NEVER = ${NEVER_MS}
local MAX_TTL = ${MAX_IDLE_TTL_MS}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local budget = tonumber(ARGV[1])
local pause = redis.call('PTTL', KEYS[1])
if pause < 0 then pause = 0 end
local n = #KEYS - 1
local lease = tonumber(ARGV[4 * n + 2]) or 1
local tokens, needs, costs = {}, {}, {}
local wait, longest, tooBig = 0, 1, 0
for i = 1, n do
  local cap = tonumber(ARGV[4 * i - 2])
  local rate = tonumber(ARGV[4 * i - 1])
  local cost = tonumber(ARGV[4 * i + 1])
  local tk = refilled(redis.call('HMGET', KEYS[i + 1], 't', 'at'), cap, rate, now)
  local need = 0
  if tk < cost - EPSILON then
    if rate > 0 then need = (cost - tk) / rate else need = NEVER end
  end
  if need < pause then need = pause end
  if cost > cap and tooBig == 0 then tooBig = i end
  tokens[i] = tk
  needs[i] = need
  costs[i] = cost
  if need > wait then wait = need; longest = i end
end
local function whole (x)
  if x > 0 then return math.floor(x + EPSILON) end
  return 0
end
if tooBig > 0 then return { 2, 0, 0, tooBig - 1, 0, 0, tooBig - 1, whole(tokens[tooBig]) } end
local by, byNeed = 0, -1
for i = 1, n do
  local maxWait = tonumber(ARGV[4 * i])
  if needs[i] > 0 and (maxWait < 0 or wait > maxWait) and needs[i] > byNeed then
    by = i
    byNeed = needs[i]
  end
end
if by == 0 and wait > 0 and wait > budget then by = longest end
if by > 0 then return { 1, 0, math.ceil(wait), by - 1, 0, 0, by - 1, whole(tokens[by]) } end
local take = 1
if wait == 0 and lease > 1 then
  take = lease
  for i = 1, n do
    local w = math.floor(tokens[i] + EPSILON)
    if w < take then take = w end
  end
  if take < 1 then take = 1 end
end
local mask = 0
local closest, lowest, left = 1, math.huge, 0
for i = 1, n do
  local cap = tonumber(ARGV[4 * i - 2])
  local rate = tonumber(ARGV[4 * i - 1])
  local tk = tokens[i] - take * costs[i]
  local ttl = MAX_TTL
  if rate > 0 then ttl = math.min(MAX_TTL, math.ceil((cap - tk) / rate) + 1000) end
  redis.call('HSET', KEYS[i + 1], 't', tk, 'at', now)
  redis.call('PEXPIRE', KEYS[i + 1], ttl)
  if needs[i] > 0 then mask = mask + 2 ^ (i - 1) end
  if tk / cap < lowest then lowest = tk / cap; closest = i; left = tk end
end
local bucket = -1
if wait > 0 then bucket = longest - 1 end
return { 0, math.ceil(wait), 0, bucket, mask, take, closest - 1, whole(left) }
`

/**
 * Tokens into each bucket: unused leased tokens going back, a reservation
 * given back, or a cost settled. KEYS[1..n] one hash per bucket; ARGV per
 * bucket: the tokens (positive: back, never above capacity; negative: taken,
 * the bucket may go below zero), capacity, refill per ms. Each bucket is
 * refilled to now first; an absent bucket is full.
 */
export const ADJUST_LUA = `${REFILLED_LUA}local MAX_TTL = ${MAX_IDLE_TTL_MS}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
for i = 1, #KEYS do
  local delta = tonumber(ARGV[3 * i - 2])
  local s = redis.call('HMGET', KEYS[i], 't', 'at')
  if delta ~= 0 and (s[1] or delta < 0) then
    local cap = tonumber(ARGV[3 * i - 1])
    local rate = tonumber(ARGV[3 * i])
    local tk = refilled(s, cap, rate, now) + delta
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
 * The vendor says fewer calls remain than the bucket holds: KEYS[1] the
 * bucket; ARGV[1] the vendor's remaining count, ARGV[2] capacity, ARGV[3]
 * refill per ms. The bucket (refilled to now) is lowered to it, never raised.
 */
export const LOWER_LUA = `${REFILLED_LUA}local MAX_TTL = ${MAX_IDLE_TTL_MS}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local level = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local tk = refilled(redis.call('HMGET', KEYS[1], 't', 'at'), cap, rate, now)
if level >= tk then return 0 end
local ttl = MAX_TTL
if rate > 0 then ttl = math.min(MAX_TTL, math.ceil((cap - level) / rate) + 1000) end
redis.call('HSET', KEYS[1], 't', level, 'at', now)
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`

/**
 * A replica announces itself: KEYS[1] the sorted set of replicas (score: when
 * each announcement expires, Redis ms); ARGV[1] this replica's id, ARGV[2]
 * how long its announcement lasts (ms). Expired ones are dropped; returns how
 * many replicas are announced now.
 */
export const ANNOUNCE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ttl)
return redis.call('ZCARD', KEYS[1])
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

// Shared token-bucket rate limits (`rateLimit`, README "Redis"): the
// limiter, the key values a call draws from, and what a vendor's response
// teaches about pausing.
export { createRateLimiter } from './limiter.js'
export { bucketKeyValues } from './keys.js'
export { learnBackpressure } from './backpressure.js'
export { pushRateLimitHeaders } from './advertise.js'
export { CostTap, estimateCosts } from './cost.js'
export { compilePlan, type Plan } from './plan.js'
export type { QueueWaiter, RateDecision, RateLimiter } from './types.js'

// Shared token-bucket rate limits (SPEC sections 4 rateLimit and 8): the
// limiter, the key values a call draws from, and what a vendor's response
// teaches about pausing.
export { createRateLimiter, type RateLimiterOptions } from './limiter.js'
export { bucketKeyValues } from './keys.js'
export { learnBackpressure } from './backpressure.js'
export type { BucketLevel, QueueWaiter, RateDecision, RateLimiter, LimiterLogger } from './types.js'

/**
 * The interfaces the core needs from the outside world. Adapters in functions/adapters implement them against
 * DynamoDB and S3 (the same code in AWS and in the twin); tests may implement them in memory.
 * Each port is small and named after what the core asks of it.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

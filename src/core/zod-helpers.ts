import { z } from 'zod';

/** A string enum parsed case-insensitively and echoed in canonical case; errors list the values. */
export function caseInsensitiveEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess(
    (input) =>
      typeof input === 'string'
        ? (values.find((v) => v.toLowerCase() === input.trim().toLowerCase()) ?? input)
        : input,
    z.enum(values, { error: `must be one of: ${values.join(', ')}` }),
  );
}

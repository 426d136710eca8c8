import type { Context } from 'koa';
import { PayloadTooLargeError } from '../core/errors.js';
import { HttpError } from './error-envelope.js';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Reads and parses a JSON request body, refusing more than `limit` bytes (413) and bad JSON (400). */
export async function readJsonBody(ctx: Context, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(ctx.get('content-length') || '0');
  if (declared > limit) {
    ctx.req.resume();
    throw new PayloadTooLargeError(limit);
  }
  const type = ctx.get('content-type');
  if (type && !/json/i.test(type)) {
    throw new HttpError('UnsupportedMediaType', `Content-Type must be application/json, got ${type}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      ctx.req.resume();
      throw new PayloadTooLargeError(limit);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError('BadRequest', 'The request body is empty; send a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(
      'BadRequest',
      `The request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

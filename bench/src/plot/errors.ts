/** The error a chart throws when its spec cannot be drawn; the message names the field to fix. */
export class PlotSpecError extends Error {
  override readonly name = 'PlotSpecError';
}

/** Throws unless `value` is a finite number; `what` names it in the message ("requests[3].end"). */
export function requireFinite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new PlotSpecError(`${what} must be a finite number, got ${String(value)}`);
  }
  return value;
}

/** Throws unless width and height are integers large enough for a chart's frame. */
export function requireSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 400 || height < 250 || width > 8000 || height > 8000) {
    throw new PlotSpecError(`chart size must be integers from 400x250 to 8000x8000, got ${width}x${height}`);
  }
}

/**
 * Colours of the charts. Data colours come from the Okabe–Ito palette, chosen
 * to stay distinct under the common kinds of colour blindness; the frame is
 * greys on white.
 */

export type Rgb = readonly [number, number, number];

/** `#rrggbb` to an RGB triple. */
export function hex(code: string): Rgb {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(code);
  if (!m) throw new RangeError(`colour must be written #rrggbb, got "${code}"`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

/** Okabe–Ito, by name. */
export const OKABE_ITO = Object.freeze({
  blue: hex('#0072b2'),
  vermillion: hex('#d55e00'),
  bluishGreen: hex('#009e73'),
  orange: hex('#e69f00'),
  reddishPurple: hex('#cc79a7'),
  skyBlue: hex('#56b4e9'),
  yellow: hex('#f0e442'),
  black: hex('#000000'),
});

/**
 * Series colours in the order they are handed out. Yellow comes last: it is
 * faint on white, so a chart needs seven series before it is used.
 */
export const SERIES_COLORS: readonly Rgb[] = Object.freeze([
  OKABE_ITO.blue,
  OKABE_ITO.vermillion,
  OKABE_ITO.bluishGreen,
  OKABE_ITO.reddishPurple,
  OKABE_ITO.orange,
  OKABE_ITO.skyBlue,
  OKABE_ITO.black,
  OKABE_ITO.yellow,
]);

/** The frame: background, text, axes, grid lines, event markers. */
export const THEME = Object.freeze({
  background: hex('#ffffff'),
  text: hex('#222222'),
  mutedText: hex('#555555'),
  axis: hex('#444444'),
  grid: hex('#e8e8e8'),
  event: hex('#333333'),
});

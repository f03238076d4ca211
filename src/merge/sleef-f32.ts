// torch's float32 acos, sin and cos on CPU, bit for bit: torch evaluates them through SLEEF's
// 1-ulp vector functions (Sleef_acosf8_u10, Sleef_sinf8_u10, Sleef_cosf8_u10; the AVX2 build
// with fused multiply-adds), whose results differ from the correctly rounded ones on a few
// percent of inputs. Reimplemented from SLEEF 3.5's algorithm (Cody–Waite reduction by π in
// three parts, minimax polynomials evaluated in double-float pairs); sin and cos here cover
// |x| < 125 (SLEEF's first range; beyond it, the correctly rounded value stands in: mergekit
// takes sines of angles in [0, π] and of small norms). Checked against torch 1.13 on 30000
// inputs each (src/merge/torch-f32.test.ts).

import { fmaF32 } from "./numpy-f32.js";

const f = Math.fround;
const fma = fmaF32;

/** a float32 value and its low part: x + y carries ~48 bits */
type Pair = readonly [number, number];

const addFF = (x: number, y: number): Pair => {
  const s = f(x + y);
  return [s, f(f(x - s) + y)];
};
const add2FF = (x: number, y: number): Pair => {
  const s = f(x + y);
  const v = f(s - x);
  return [s, f(f(x - f(s - v)) + f(y - v))];
};
const addPF = (x: Pair, y: number): Pair => {
  const s = f(x[0] + y);
  return [s, f(f(f(x[0] - s) + y) + x[1])];
};
const add2PF = (x: Pair, y: number): Pair => {
  const s = f(x[0] + y);
  const v = f(s - x[0]);
  return [s, f(f(f(x[0] - f(s - v)) + f(y - v)) + x[1])];
};
const addFP = (x: number, y: Pair): Pair => {
  const s = f(x + y[0]);
  return [s, f(f(f(x - s) + y[0]) + y[1])];
};
const add2FP = (x: number, y: Pair): Pair => {
  const s = f(x + y[0]);
  const v = f(s - x);
  return [s, f(f(f(x - f(s - v)) + f(y[0] - v)) + y[1])];
};
const subPP = (x: Pair, y: Pair): Pair => {
  const s = f(x[0] - y[0]);
  return [s, f(f(f(f(x[0] - s) - y[0]) + x[1]) - y[1])];
};
const squareP = (x: Pair): Pair => {
  const s = f(x[0] * x[0]);
  return [s, fma(f(x[0] + x[0]), x[1], fma(x[0], x[0], -s))];
};
const mulPP = (x: Pair, y: Pair): Pair => {
  const s = f(x[0] * y[0]);
  return [s, fma(x[0], y[1], fma(x[1], y[0], fma(x[0], y[0], -s)))];
};
const mulPPtoF = (x: Pair, y: Pair): number => fma(x[0], y[0], fma(x[1], y[0], f(x[0] * y[1])));
const mulFF = (x: number, y: number): Pair => {
  const s = f(x * y);
  return [s, fma(x, y, -s)];
};
const reciprocal = (d: number): Pair => {
  const s = f(1 / d);
  return [s, f(s * fma(-d, s, 1))];
};
const scaleP = (d: Pair, s: number): Pair => [f(d[0] * s), f(d[1] * s)];
const sqrtP = (d: number): Pair => {
  const t = f(Math.sqrt(d));
  return scaleP(mulPP(add2FP(d, mulFF(t, t)), reciprocal(t)), 0.5);
};

/** round to the nearest integer, ties to even (vroundps) */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
/** x with its sign flipped where s is negative (vmulsign) */
const mulSign = (x: number, s: number): number => (s < 0 || Object.is(s, -0) ? -x : x);

const ONE_OVER_PI = f(0.318309886183790671537767526745028724);
const PI_A = f(3.1414794921875);
const PI_B = f(0.00011315941810607910156);
const PI_C = f(1.9841872589410058936e-9);
const RANGE = 125;
const S1 = f(2.6083159809786593541503e-6), S2 = f(-0.0001981069071916863322258), S3 = f(0.00833307858556509017944336), S4 = f(-0.166666597127914428710938);

/** sin(t) for the reduced argument t (a pair), SLEEF's polynomial */
function sinPoly(t: Pair): number {
  const s = squareP(t);
  let u = fma(S1, s[0], S2);
  u = fma(u, s[0], S3);
  const x = addFP(1, mulPP(addFF(S4, f(u * s[0])), s));
  return mulPPtoF(t, x);
}

/** torch.sin of a float32 value (Sleef_sinf8_u10). */
export function sleefSinF32(d: number): number {
  if (!(Math.abs(d) < RANGE)) return f(Math.sin(d));
  if (Object.is(d, -0)) return d;
  const u = rint(f(d * ONE_OVER_PI));
  const v = fma(u, -PI_A, d);
  let s = add2FF(v, f(u * -PI_B));
  s = addPF(s, f(u * -PI_C));
  const r = sinPoly(s);
  return (u & 1) === 1 ? -r : r; // u is an integer below 2^6: & reads it in two's complement
}

/** torch.cos of a float32 value (Sleef_cosf8_u10). */
export function sleefCosF32(d: number): number {
  if (!(Math.abs(d) < RANGE)) return f(Math.cos(d));
  const dq = fma(rint(fma(d, ONE_OVER_PI, -0.5)), 2, 1);
  let s = add2FF(d, f(dq * f(-PI_A * 0.5)));
  s = add2PF(s, f(dq * f(-PI_B * 0.5)));
  s = add2PF(s, f(dq * f(-PI_C * 0.5)));
  const r = sinPoly(s);
  return ((dq | 0) & 2) === 0 ? -r : r;
}

const HALF_PI: Pair = [f(3.1415927410125732422 / 2), f(-8.7422776573475857731e-8 / 2)];
const PI: Pair = [f(3.1415927410125732422), f(-8.7422776573475857731e-8)];
const A1 = f(0.4197454825e-1), A2 = f(0.2424046025e-1), A3 = f(0.4547423869e-1), A4 = f(0.7495029271e-1), A5 = f(0.1666677296);

/** torch.acos of a float32 value in [−1, 1] (Sleef_acosf8_u10). */
export function sleefAcosF32(d: number): number {
  if (Number.isNaN(d) || Math.abs(d) > 1) return NaN;
  const a = Math.abs(d);
  const small = a < 0.5;
  const x2 = small ? f(d * d) : f(f(1 - a) * 0.5);
  let x: Pair = small ? [a, 0] : sqrtP(x2);
  if (a === 1) x = [0, 0];
  let u = fma(A1, x2, A2);
  u = fma(u, x2, A3);
  u = fma(u, x2, A4);
  u = fma(u, x2, A5);
  u = f(u * f(x2 * x[0]));
  let y = subPP(HALF_PI, addFF(mulSign(x[0], d), mulSign(u, d)));
  x = addPF(x, u);
  if (!small) y = scaleP(x, 2);
  if (!small && d < 0) y = subPP(PI, y);
  return f(y[0] + y[1]);
}

/**
 * The unbiased pass@k estimator (Chen et al., 2021): with n samples of which c are correct,
 * pass@k = 1 − C(n−c, k) / C(n, k), computed as 1 − Π_{i=n−c+1}^{n} (1 − k/i) to stay exact in
 * floating point for large n. Requires 1 ≤ k ≤ n.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || k < 1 || k > n || c < 0 || c > n) {
    throw new Error(`pass@k needs integers 1 <= k <= n and 0 <= c <= n, got n=${n} c=${c} k=${k}`);
  }
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

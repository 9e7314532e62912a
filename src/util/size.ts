// Human-readable byte sizes for messages (SI units, as quotas are written: 50 MB, 200 MB).

/** 200000000 → "200 MB"; 1536 → "1.5 KB". */
export function formatSize(n: number): string {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let x = n;
  while (x >= 1000 && i < u.length - 1) {
    x /= 1000;
    i++;
  }
  return `${Math.round(x * 10) / 10} ${u[i]}`;
}

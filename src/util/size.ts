// Human-readable byte sizes in SI units, as quotas and capacities are written (50 MB, 2 TB).

/** 200000000 → "200 MB"; 1536 → "1.54 KB"; 2e12 → "2 TB". */
export function formatSize(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${Number(v.toFixed(v < 10 ? 2 : 1))} ${units[u]}`;
}

// Measures how late a 10 ms timer fires in this thread: the runtime's own
// thread stays responsive when this stays small while a stub misbehaves.
export function watchEventLoop() {
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  return {
    worstLagMs: () => worst,
    stop: () => clearInterval(timer),
  };
}

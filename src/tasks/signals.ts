/**
 * Call onSignal at the first Ctrl-C (or SIGTERM/SIGHUP) so the caller can clean up; a second one
 * exits at once. Returns a function that stops listening.
 */
export function onInterrupt(onSignal: () => void): () => void {
  let count = 0;
  const handler = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      process.stderr.write(`\nInterrupted (${sig}): cleaning up; press Ctrl-C again to quit at once\n`);
      onSignal();
    } else process.exit(130);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}

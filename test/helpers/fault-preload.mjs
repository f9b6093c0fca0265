// Loaded into a CLI child with NODE_OPTIONS=--import: on SIGUSR2 the process meets an error nothing handles,
// the way a library's timer callback or a forgotten promise would give it one. FAULT picks which.
process.on('SIGUSR2', () => {
  const error = new Error('a fault nobody handled\n  (its second line)');
  if (process.env.FAULT === 'connection-loss') {
    // What postgres.js's unawaited type fetch rejects with when Postgres goes away under it.
    void Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    return;
  }
  if (process.env.FAULT === 'rejection') void Promise.reject(error);
  else setImmediate(() => {
    throw error;
  });
});

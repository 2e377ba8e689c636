/**
 * A signal that aborts after `ms` (with a `TimeoutError` DOMException, as `AbortSignal.timeout`
 * does), or when `signal` aborts. Not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: Node 20
 * holds the sources of `AbortSignal.any` weakly, so a timeout signal nothing else refers to is
 * garbage-collected before it fires and the request waits for ever (measured: a request to a socket
 * that never answers, with a collection in between, never ended). Here the timer holds its
 * controller; it is unref'd, so it never keeps the process alive by itself.
 */
export function deadlineSignal(ms: number, signal?: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
  }, ms);
  timer.unref();
  if (signal === undefined) return controller.signal;
  return AbortSignal.any([signal, controller.signal]);
}

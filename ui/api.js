// The only caller of `invoke`: every view talks to the Rust side through these functions.
// A failed command rejects with `{code, message}` (src-tauri/error.rs); anything else the
// IPC layer throws is normalised to that shape so views handle one kind of error.

const core = window.__TAURI__ && window.__TAURI__.core;

async function call(cmd, args) {
  if (!core) {
    throw { code: 'no_ipc', message: 'the Tauri IPC bridge is missing' };
  }
  try {
    return await core.invoke(cmd, args);
  } catch (e) {
    if (e && typeof e === 'object' && typeof e.code === 'string') throw e;
    throw { code: 'internal', message: String(e) };
  }
}

/** Version, mode ('sandbox' | 'live') and data directory; rejects with the start-up failure. */
export function appInfo() {
  return call('app_info');
}

/** Closes the app after a failed start (the process exits non-zero). */
export function quitAfterFatal() {
  return call('quit_after_fatal');
}

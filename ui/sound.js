// Short result sounds made with Web Audio (no files): a rising two-note chime for success,
// a low double buzz for failure, three even beeps for "result to be confirmed". The
// cashier can turn them off; the choice is remembered.

const KEY = 'redeemdesk.sound';
let ctx = null;

export function soundOn() {
  return localStorage.getItem(KEY) !== 'off';
}

export function setSoundOn(on) {
  localStorage.setItem(KEY, on ? 'on' : 'off');
}

const TUNES = {
  // [frequency Hz, start s, length s, wave]
  succeeded: [[880, 0, 0.12, 'sine'], [1320, 0.12, 0.2, 'sine']],
  rejected: [[220, 0, 0.18, 'square'], [180, 0.24, 0.28, 'square']],
  unknown: [[660, 0, 0.1, 'triangle'], [660, 0.18, 0.1, 'triangle'], [660, 0.36, 0.1, 'triangle']],
  notice: [[520, 0, 0.12, 'triangle']],
};

/** Plays the sound for `kind` (succeeded | rejected | unknown | notice) when sounds are on. */
export function play(kind) {
  const tune = TUNES[kind];
  if (!tune || !soundOn()) return;
  try {
    ctx = ctx || new AudioContext();
    if (ctx.state === 'suspended') ctx.resume();
    const now = ctx.currentTime;
    for (const [freq, start, length, wave] of tune) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = wave;
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + start);
      gain.gain.exponentialRampToValueAtTime(wave === 'square' ? 0.12 : 0.3, now + start + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + start + length);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + start);
      osc.stop(now + start + length + 0.02);
    }
  } catch (_) {
    // No audio device (a headless test display, a muted till): the screen still says it all.
  }
}

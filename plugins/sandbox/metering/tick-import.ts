// The import a metered module calls (meter.ts): `tick: func() -> i32` of
// this module, every TICK_INTERVAL loop iterations and entries of functions
// that call others.
// It answers 1 to have the stub trap: its call ran past its time limit.
export const METER_MODULE = 'protofly:meter';
export const METER_TICK = 'tick';
export const TICK_INTERVAL = 1 << 16;

/** One schedule of an upsertSchedules batch (see upsertSchedules-1.lua). */
export interface UpsertCall {
  member: string;
  id: string;
  handlerKey: string;
  timing: string;
  payload: string;
  policy: string;
  enabled: boolean;
  nextFireMs: number;
  nextDueMs: number;
}

export interface UpsertReply {
  /** 1 created, 0 updated, or a negative ScriptCode (then `nextFireMs` holds the detail). */
  code: number;
  nextFireMs: number;
  nextDueMs: number;
  createdAtMs: number;
  /** '<outcome>:<fire ms>:<ended ms>' or ''. */
  last: string;
  lastError: string;
  running: boolean;
  skippedFires: number;
}

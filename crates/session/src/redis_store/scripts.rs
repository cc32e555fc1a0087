//! The Lua scripts the Redis store runs: each store operation is one script, so it is one
//! round trip and atomic. Times come from the Redis server's clock (`TIME`), so replicas
//! whose clocks differ still agree on when a session ends.
//!
//! Keys (under the store's prefix `P`):
//! - `P sessions`: sorted set, session id -> deadline (ms): the earlier of its expiry and
//!   its last use plus the idle timeout. A session is live while its deadline is ahead.
//! - `P s:<id>`: hash, `r` -> record (JSON), `x` -> expiry (ms), `b:<server>` -> backend
//!   session (JSON). It outlives the deadline by a grace period, so the sweep can still
//!   read which backend sessions to end; Redis drops it by itself after that.
//! - `P srv:<server>`: set of the session ids with a backend session on that server.

use redis::Script;

/// Current time in ms, from the server's clock.
const NOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

/// KEYS: sessions, s:<id>. ARGV: id, max sessions, idle ms, grace ms, expiry ms, record.
/// Returns 1, or 0 when the store is full.
const INSERT: &str = r"
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
local deadline = math.min(now + tonumber(ARGV[3]), tonumber(ARGV[5]))
redis.call('ZADD', KEYS[1], deadline, ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'r', ARGV[6], 'x', ARGV[5])
redis.call('PEXPIREAT', KEYS[2], deadline + tonumber(ARGV[4]))
return 1
";

/// KEYS: sessions, s:<id>. ARGV: id, idle ms, grace ms, touch ms, want record (1/0),
/// backend field (`b:<server>`, `*` for all, empty for none).
/// Returns nil when the session is not live, else {record or '', field, value, ...}. The
/// deadline moves only when at least `touch ms` would be gained, to spare writes.
const LOOKUP: &str = r"
local deadline = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if not deadline or deadline <= now then return false end
local expires = tonumber(redis.call('HGET', KEYS[2], 'x'))
if not expires then return false end
local wanted = math.min(now + tonumber(ARGV[2]), expires)
if wanted - deadline >= tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], wanted, ARGV[1])
  redis.call('PEXPIREAT', KEYS[2], wanted + tonumber(ARGV[3]))
end
local out = {''}
if ARGV[5] == '1' then out[1] = redis.call('HGET', KEYS[2], 'r') or '' end
if ARGV[6] == '*' then
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'b:' then
      out[#out + 1] = all[i]
      out[#out + 1] = all[i + 1]
    end
  end
elseif ARGV[6] ~= '' then
  local b = redis.call('HGET', KEYS[2], ARGV[6])
  if b then
    out[2] = ARGV[6]
    out[3] = b
  end
end
return out
";

/// KEYS: s:<id>, srv:<server>. ARGV: id, field, backend. Ignored when the session is gone.
const SET_BACKEND: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
";

/// KEYS: s:<id>, srv:<server>. ARGV: id, field. Returns the backend removed, or nil.
const REMOVE_BACKEND: &str = r"
local old = redis.call('HGET', KEYS[1], ARGV[2])
if not old then return false end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('SREM', KEYS[2], ARGV[1])
return old
";

/// KEYS: sessions, s:<id>. ARGV: id, key prefix, live only (1/0).
/// Takes the session out (only one caller can: the `ZREM` decides) and returns its hash as
/// field, value, ...; nil when it was not there (or, live only, had ended).
const REMOVE: &str = r"
local deadline = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if not deadline then return false end
if ARGV[3] == '1' and deadline <= now then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
local all = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[2])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'b:' then
    redis.call('SREM', ARGV[2] .. 'srv:' .. string.sub(all[i], 3), ARGV[1])
  end
end
return all
";

/// KEYS: sessions. ARGV: batch size. The ids of up to a batch of ended sessions.
const ENDED: &str = r"
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
";

/// KEYS: srv:<server>. ARGV: key prefix, field. Drops that server's backend session from
/// every session; returns how many there were.
const FORGET_SERVER: &str = r"
local forgotten = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  forgotten = forgotten + redis.call('HDEL', ARGV[1] .. 's:' .. id, ARGV[2])
end
redis.call('DEL', KEYS[1])
return forgotten
";

/// The store's scripts, loaded once per store (Redis caches them by hash).
pub(super) struct Scripts {
    pub insert: Script,
    pub lookup: Script,
    pub set_backend: Script,
    pub remove_backend: Script,
    pub remove: Script,
    pub ended: Script,
    pub forget_server: Script,
}

impl Scripts {
    pub fn new() -> Self {
        let timed = |body: &str| Script::new(&format!("{NOW}{body}"));
        Self {
            insert: timed(INSERT),
            lookup: timed(LOOKUP),
            set_backend: Script::new(SET_BACKEND),
            remove_backend: Script::new(REMOVE_BACKEND),
            remove: timed(REMOVE),
            ended: timed(ENDED),
            forget_server: Script::new(FORGET_SERVER),
        }
    }
}

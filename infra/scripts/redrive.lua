-- Redrive a dead letter: remove it, and put its command back on the partition's command stream
-- as if new (attempts 0, no errors), its status back from `failed` to `accepted`; all at once,
-- so an operator never sees the command both dead and queued, nor neither.
-- A command settled meanwhile (`succeeded`/`rejected`) is not re-appended: its done mark would
-- make the copy a no-op anyway. One `accepted` again is already queued (an earlier redrive).
-- KEYS[1] command status hash  KEYS[2] partition command stream  KEYS[3] dead-letter stream
-- ARGV[1] dead-letter entry id  ARGV[2] envelope JSON (attempts reset)  ARGV[3] command name
-- ARGV[4] submitted_at ms  ARGV[5] actor ('' for none)  ARGV[6] status TTL s
-- Returns {'redriven', new entry id} | {'settled', status} | {'queued'} | {'missing'}
if redis.call('XDEL', KEYS[3], ARGV[1]) == 0 then
  return {'missing'}
end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'succeeded' or status == 'rejected' then
  return {'settled', status}
end
if status == 'accepted' then
  return {'queued'}
end
local entry_id = redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
-- The old result would still answer `failed` to GET /commands; the reclaim count would cut the
-- new delivery short. The status fields are rewritten in case the hash expired meanwhile.
redis.call('HDEL', KEYS[1], 'result', 'last_error', 'reclaims')
redis.call('HSET', KEYS[1], 'status', 'accepted', 'attempts', 0, 'command', ARGV[3],
  'submitted_at', ARGV[4], 'actor', ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return {'redriven', entry_id}

-- Settle one command atomically: check the aggregate's version and unique claims, append its
-- events to the partition log and the aggregate's history, record its result, mark it done and
-- acknowledge it. Nothing is written unless everything is.
--
-- KEYS[1] command status hash    KEYS[2] aggregate history list   KEYS[3] partition event log
-- KEYS[4] partition result log   KEYS[5] partition command stream KEYS[6..] claim keys
-- ARGV[1] group   ARGV[2] entry id   ARGV[3] expected version (-1: do not check)
-- ARGV[4] status  ARGV[5] result JSON  ARGV[6] status TTL s  ARGV[7] results MAXLEN
-- ARGV[8] the command whose events the history must end with ('' for no such check)
-- ARGV[9] number of events n, ARGV[10 .. 9+n] event records, then one owner per claim key.
--
-- Returns {'ok', event ids...} | {'duplicate'} | {'conflict', actual version}
--       | {'claimed', claim index, owner}
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'accepted' then
  redis.call('XACK', KEYS[5], ARGV[1], ARGV[2])
  return {'duplicate'}
end

local expected = tonumber(ARGV[3])
if expected >= 0 then
  local actual = redis.call('LLEN', KEYS[2])
  if actual ~= expected then
    return {'conflict', actual}
  end
  -- A decision made on top of an earlier one of its batch holds only if that one's events are
  -- the history's last: another writer may have appended as many events in its place.
  if ARGV[8] ~= '' then
    local last = redis.call('LINDEX', KEYS[2], -1)
    if not last or cjson.decode(last)['command_id'] ~= ARGV[8] then
      return {'conflict', actual}
    end
  end
end

local n = tonumber(ARGV[9])
local first_owner = 10 + n
for i = 6, #KEYS do
  local wanted = ARGV[first_owner + i - 6]
  local owner = redis.call('GET', KEYS[i])
  if owner and owner ~= wanted then
    return {'claimed', i - 5, owner}
  end
end

local reply = {'ok'}
for i = 10, 9 + n do
  redis.call('RPUSH', KEYS[2], ARGV[i])
  reply[#reply + 1] = redis.call('XADD', KEYS[3], '*', 'e', ARGV[i])
end
for i = 6, #KEYS do
  redis.call('SET', KEYS[i], ARGV[first_owner + i - 6])
end

redis.call('HSET', KEYS[1], 'status', ARGV[4], 'result', ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', 'r', ARGV[5])
redis.call('XACK', KEYS[5], ARGV[1], ARGV[2])
return reply

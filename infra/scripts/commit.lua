-- Settle a batch of commands of one partition, in order, each one atomically: check its
-- aggregate's version and its unique claims, append its events to the partition log and the
-- aggregate's history, record its result, mark it done and acknowledge it. Nothing of a
-- command is written unless all of it is; a command that fails its checks leaves the others be.
-- One call per partition and batch: the client's cost is per call, not per command. The
-- entries settled (and those found done already) are acknowledged together at the end: should
-- the script stop half way, an entry settled but not acknowledged is delivered again and found
-- done, never settled twice.
--
-- KEYS[1] partition event log   KEYS[2] partition result log   KEYS[3] partition command stream,
--   then for each command: its status hash, its aggregate's history list, its claim keys.
-- ARGV[1] group   ARGV[2] status TTL s   ARGV[3] results MAXLEN   ARGV[4] number of commands,
--   then for each command: entry id, expected version (-1: do not check), status, result JSON,
--   the command whose events the history must end with ('' for no such check), number of events
--   n, number of claims m, then n event records and m owners (one per claim key).
--
-- Returns one reply per command: {'ok', event ids...} | {'duplicate'} | {'conflict', actual
-- version} | {'claimed', claim index, owner}
local group, ttl, maxlen = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local events_log, results_log, commands = KEYS[1], KEYS[2], KEYS[3]
local acks = {}
-- Histories of this call's commands found done already (settled by another worker, with events
-- of its own deciding): a later decision of this call built on top of them cannot hold.
local found_done = {}

-- k: the index of the command's status key in KEYS; a: the index of its entry id in ARGV.
local function settle(k, a)
  local status_key, history = KEYS[k], KEYS[k + 1]
  local entry_id, expected, status, result, after =
    ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local n, m = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local first_event, first_owner = a + 7, a + 7 + n

  local current = redis.call('HGET', status_key, 'status')
  if current and current ~= 'accepted' then
    acks[#acks + 1] = entry_id
    found_done[history] = true
    return {'duplicate'}
  end

  if expected >= 0 then
    local actual = redis.call('LLEN', history)
    if actual ~= expected then
      return {'conflict', actual}
    end
    -- A decision made on top of an earlier one of its batch holds only if that one's events are
    -- the history's last: another writer may have appended as many events in its place.
    if after ~= '' then
      if found_done[history] then
        return {'conflict', actual}
      end
      local last = redis.call('LINDEX', history, -1)
      if not last or cjson.decode(last)['command_id'] ~= after then
        return {'conflict', actual}
      end
    end
  end

  for j = 0, m - 1 do
    local owner = redis.call('GET', KEYS[k + 2 + j])
    if owner and owner ~= ARGV[first_owner + j] then
      return {'claimed', j + 1, owner}
    end
  end

  local reply = {'ok'}
  local last_event = first_event + n - 1
  for i = first_event, last_event, 1000 do  -- in slices: unpack() is bounded by Lua's stack
    redis.call('RPUSH', history, unpack(ARGV, i, math.min(i + 999, last_event)))
  end
  for i = first_event, last_event do
    reply[#reply + 1] = redis.call('XADD', events_log, '*', 'e', ARGV[i])
  end
  for j = 0, m - 1 do
    redis.call('SET', KEYS[k + 2 + j], ARGV[first_owner + j])
  end
  redis.call('HSET', status_key, 'status', status, 'result', result)
  redis.call('EXPIRE', status_key, ttl)
  redis.call('XADD', results_log, 'MAXLEN', '~', maxlen, '*', 'r', result)
  acks[#acks + 1] = entry_id
  return reply
end

local replies = {}
local k, a = 4, 5
for c = 1, tonumber(ARGV[4]) do
  local n, m = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  replies[c] = settle(k, a)
  k = k + 2 + m
  a = a + 7 + n + m
end
for i = 1, #acks, 1000 do
  redis.call('XACK', commands, group, unpack(acks, i, math.min(i + 999, #acks)))
end
return replies

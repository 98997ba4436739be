-- How many entries a stream holds after an id, up to a cap: a consumer group's lag on Redis 6.2,
-- whose XINFO GROUPS has no `lag` field. Counted here so the entries never cross the network.
-- KEYS[1] stream  ARGV[1] exclusive start id (the group's last-delivered-id)  ARGV[2] cap
return #redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))

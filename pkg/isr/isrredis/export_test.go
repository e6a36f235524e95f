package isrredis

// LockKey exposes a backend's lock key to the external tests.
func LockKey(b *Backend, key string) string { return b.lockKey(key) }

// SeqKey exposes a backend's event counter of shard to the external tests.
func SeqKey(b *Backend, shard uint32) string { return b.seqKey(shard) }

package isrredis

// KeyHash exposes keyHash to the external tests.
func KeyHash(key string) string { return keyHash(key) }

package isr

import "testing"

// TestSequencesPerShard: numbers are followed per shard, so events of two
// shards interleaved are no gap; a skipped or repeated number in one shard
// is; a reset forgets every shard.
func TestSequencesPerShard(t *testing.T) {
	var s sequences
	steps := []struct {
		shard uint32
		seq   uint64
		gap   bool
	}{
		{0, 5, false}, // the first number of a shard
		{7, 1, false},
		{0, 6, false},
		{7, 2, false},
		{7, 4, true}, // 3 was lost
		{0, 7, false},
		{0, 7, true}, // went back (a failover undid writes)
		{3, 9, false},
	}
	for i, st := range steps {
		if got := s.gap(st.shard, st.seq); got != st.gap {
			t.Fatalf("step %d: gap(%d, %d) = %v, want %v", i, st.shard, st.seq, got, st.gap)
		}
	}
	s.reset()
	if s.gap(7, 100) || s.gap(0, 1) {
		t.Fatal("a gap right after a reset")
	}
}

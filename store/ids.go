package store

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// ID prefixes, one per entity, so an ID says what it names.
const (
	PrefixCluster     = "clu_"
	PrefixJob         = "job_"
	PrefixIdempotency = "idk_"
	PrefixRBAC        = "rbac_"
	PrefixAudit       = "aud_"
	PrefixOutputs     = "out_"
	PrefixArtifact    = "art_"
	PrefixUsage       = "use_"
)

// MaxIDLen is the longest ID any table accepts (VARCHAR(64)).
const MaxIDLen = 64

// crockford is Crockford's base32 alphabet: it sorts in byte order, so the
// encoded IDs sort like the 128-bit values they encode.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idGen hands out 128-bit values: 48 bits of Unix milliseconds, then 80 bits
// that are random for the first ID of a millisecond and incremented for the
// next ones, so IDs from one process are strictly increasing (as ULID's
// monotonic mode). IDs from different processes order by millisecond.
var idGen struct {
	sync.Mutex
	ms   uint64
	hi   uint16 // high 16 of the 80 random bits
	lo   uint64 // low 64 of the 80 random bits
	seed [10]byte
}

// NewID returns a new time-ordered ID with the given prefix: prefix followed
// by 26 Crockford base32 characters. IDs made later by the same process sort
// after earlier ones, so ordering by ID follows creation order.
func NewID(prefix string) string {
	idGen.Lock()
	ms := uint64(time.Now().UnixMilli())
	if ms > idGen.ms {
		idGen.ms = ms
		_, _ = rand.Read(idGen.seed[:])
		idGen.hi = binary.BigEndian.Uint16(idGen.seed[:2]) & 0x7fff // leave room to count up
		idGen.lo = binary.BigEndian.Uint64(idGen.seed[2:])
	} else {
		idGen.lo++
		if idGen.lo == 0 {
			idGen.hi++
		}
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], idGen.ms<<16|uint64(idGen.hi))
	binary.BigEndian.PutUint64(b[8:16], idGen.lo)
	idGen.Unlock()
	return prefix + encode128(b)
}

// encode128 encodes 128 bits as 26 base32 characters (the first carries 3 bits).
func encode128(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

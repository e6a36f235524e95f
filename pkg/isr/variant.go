package isr

import (
	"net/url"
	"strings"
)

// A cache key names a page, or a variant of a page: another answer at the
// same URL that depends on request headers the key captures, such as the
// RSC payload of a Next.js App Router page. A variant's key is the page's
// key, VariantSep, then the variant: the captured request values as a
// canonical URL-encoded query ("/posts/1#_rsc=x1&rsc=1"). The separator
// cannot occur in a page key: ParsePath refuses a raw '#' and the query is
// percent-encoded.
//
// The variants of a page share its life cycle: a revalidation of the page
// covers all of them, and a regeneration renders the page and then each
// variant the store holds for it.
const VariantSep = "#"

// MaxVariants is how many variants a store keeps for one page, besides the
// page itself. A store refuses to store one more with ErrTooManyVariants;
// the answer is then served unstored.
const MaxVariants = 32

// maxVariantBytes bounds the variant part of a key: a request whose
// variant headers are longer is passed through uncached.
const maxVariantBytes = 4096

// BaseKey returns the key of the page that key is a variant of, or key
// itself when it names a page.
func BaseKey(key string) string {
	base, _, _ := strings.Cut(key, VariantSep)
	return base
}

// IsVariant reports whether key names a variant of a page.
func IsVariant(key string) bool {
	return strings.Contains(key, VariantSep)
}

// withVariant returns the key of base's variant, encoded as
// url.Values.Encode does, or base when variant is empty.
func withVariant(base, variant string) string {
	if variant == "" {
		return base
	}
	return base + VariantSep + variant
}

// variantOf returns the captured values of key's variant, or nil for a page.
func variantOf(key string) url.Values {
	_, raw, ok := strings.Cut(key, VariantSep)
	if !ok {
		return nil
	}
	v, _ := url.ParseQuery(raw) // written by withVariant: it parses
	return v
}

package blog

import (
	"fmt"
	"strconv"
)

// A Post is one blog post, as a CMS would return it.
type Post struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Body  string `json:"body"`
}

// writtenPost returns the hand-written post number i; the others are
// generated.
func writtenPost(i int) (title, body string, ok bool) {
	switch i {
	case 1:
		return "Hello, ISR", "Pages are rendered once, stored, and served from the cache until they are stale.", true
	case 2:
		return "Stale while revalidate", "A stale page is served at once while exactly one replica renders the new one in the background.", true
	case 3:
		return "On-demand revalidation", "POST /api/revalidate with a path or a tag, and every replica serves the new page.", true
	}
	return "", "", false
}

// post returns the post with the given id at the given content version, or
// false if there is no such post. Ids are "1" to "n".
func post(id string, n, version int) (Post, bool) {
	i, err := strconv.Atoi(id)
	if err != nil || i < 1 || i > n || strconv.Itoa(i) != id {
		return Post{}, false
	}
	p := Post{ID: id, Title: fmt.Sprintf("Post %d", i), Body: fmt.Sprintf("This is generated post number %d.", i)}
	if title, body, ok := writtenPost(i); ok {
		p.Title, p.Body = title, body
	}
	if version > 1 {
		p.Title = fmt.Sprintf("%s (edit %d)", p.Title, version)
		p.Body = fmt.Sprintf("%s Edited in the CMS: version %d.", p.Body, version)
	}
	return p, true
}

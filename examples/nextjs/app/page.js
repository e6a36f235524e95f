import Link from 'next/link'

// The home page is static: built once, no revalidate. Posts 1 and 2 are
// prefetched when their links show (segment prefetches), post 3 is not.
export default function Home() {
  return (
    <main>
      <h1>isrcache Next.js example</h1>
      <ul>
        <li><Link id="link-post-1" href="/posts/1">Post 1</Link></li>
        <li><Link id="link-post-2" href="/posts/2">Post 2</Link></li>
        {/* No prefetch: a click fetches the page's RSC payload (RSC and
            Next-Router-State-Tree headers) when it happens. */}
        <li><Link id="link-post-3" href="/posts/3" prefetch={false}>Post 3</Link></li>
        <li><a id="link-legacy-1" href="/legacy/1">Legacy 1 (Pages Router)</a></li>
      </ul>
    </main>
  )
}

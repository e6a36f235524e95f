import Link from 'next/link'

// The home page is static: built once, no revalidate.
export default function Home() {
  return (
    <main>
      <h1>isrcache Next.js example</h1>
      <ul>
        <li><Link id="link-post-1" href="/posts/1">Post 1</Link></li>
        <li><Link id="link-post-2" href="/posts/2">Post 2</Link></li>
        <li><Link id="link-post-3" href="/posts/3">Post 3</Link></li>
        <li><a id="link-legacy-1" href="/legacy/1">Legacy 1 (Pages Router)</a></li>
      </ul>
    </main>
  )
}

import Link from 'next/link'
import { notFound } from 'next/navigation'
import { getPost, logRender } from '../../../lib/cms'

// App Router ISR: regenerated at most every 10 seconds.
export const revalidate = 10

export function generateStaticParams() {
  return [{ id: '1' }, { id: '2' }, { id: '3' }]
}

export default async function PostPage({ params }) {
  const { id } = await params
  const post = getPost(id)
  logRender('posts', id)
  if (!post) notFound()
  return (
    <main>
      <h1 id="title">{post.title}</h1>
      <p id="body">{post.body}</p>
      <p id="rendered">rendered at {new Date().toISOString()}</p>
      <Link id="home" href="/">Home</Link>
    </main>
  )
}

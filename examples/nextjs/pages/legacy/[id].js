import Link from 'next/link'
import { getPost, logRender } from '../../lib/cms'

// Pages Router ISR: regenerated at most every 10 seconds; unknown ids are
// rendered on their first request (fallback: 'blocking'). The link to the
// next post navigates client-side: the Pages Router fetches its data route,
// /_next/data/<buildId>/legacy/<id>.json.
export default function LegacyPage({ id, post, renderedAt }) {
  const next = String(Number(id) + 1)
  return (
    <main>
      <h1 id="title">{post.title}</h1>
      <p id="body">{post.body}</p>
      <p id="rendered">legacy {id} rendered at {renderedAt}</p>
      <Link id="link-legacy-next" href={`/legacy/${next}`}>Legacy {next}</Link>
    </main>
  )
}

export async function getStaticPaths() {
  return { paths: [{ params: { id: '1' } }], fallback: 'blocking' }
}

export async function getStaticProps({ params }) {
  const post = getPost(params.id)
  logRender('legacy', params.id)
  if (!post) return { notFound: true, revalidate: 10 }
  return { props: { id: params.id, post, renderedAt: new Date().toISOString() }, revalidate: 10 }
}

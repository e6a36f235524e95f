// The example's "CMS": a JSON file read on every render, so tests can change
// content by rewriting it, and a render log every render appends one line to,
// so tests can count renders.
//
// CMS_FILE       path of the JSON file ({"posts": {"1": {"title", "body"}}});
//                default data/cms.json in the app directory.
// RENDER_LOG     path of the render log; default renders.log in the app
//                directory. Each line: page id unix-millis pid, space separated.
import fs from 'node:fs'
import path from 'node:path'

function cmsFile() {
  return process.env.CMS_FILE || path.join(process.cwd(), 'data', 'cms.json')
}

function renderLog() {
  return process.env.RENDER_LOG || path.join(process.cwd(), 'renders.log')
}

// getPost returns the post with the given id, or null when the CMS has none.
export function getPost(id) {
  const cms = JSON.parse(fs.readFileSync(/*turbopackIgnore: true*/ cmsFile(), 'utf8'))
  return (cms.posts && cms.posts[String(id)]) || null
}

// logRender appends "page id millis pid" to the render log.
export function logRender(page, id) {
  fs.appendFileSync(/*turbopackIgnore: true*/ renderLog(), `${page} ${id} ${Date.now()} ${process.pid}\n`)
}

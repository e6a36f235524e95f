/** @type {import('next').NextConfig} */
const nextConfig = {
  // isrcache sits in front: no telemetry banner noise, no powered-by header.
  poweredByHeader: false,
}

export default nextConfig

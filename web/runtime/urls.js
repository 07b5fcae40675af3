// URL checks for links and images: no javascript:, no data: except images.

/** The URL if it is safe to put in an href, else null. */
export function safeUrl(url) {
  if (typeof url !== "string") return null;
  const trimmed = url.trim();
  if (/^(https?:|mailto:|\/|\.{0,2}\/|#|\?)/i.test(trimmed)) return trimmed;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) return trimmed;
  return null;
}

/** The URL if it is safe as an image source, else null. */
export function safeImageUrl(url) {
  if (typeof url === "string" && /^data:image\/(png|gif|jpeg|webp|avif);/i.test(url.trim())) return url.trim();
  return safeUrl(url);
}

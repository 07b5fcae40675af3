// Shared by several components: lands in one shared chunk.
export function label(text) {
  return `« ${text} »`;
}

// Untrusted text in the log (file names, branch names, commit messages, registry answers, buildx
// output) must never start a workflow command (SPEC 10). The runner reads its output line by line
// (\n, \r or \r\n end a line), trims leading whitespace, and runs a line that then starts with `::`;
// it also runs a legacy `##[command]` found anywhere in a line. Pure: used by both loggers.

// Line ends for the runner, plus the ones a terminal or a later reader may also break on.
const LINE_BREAK = /\r\n|[\r\n\v\f\u0085\u2028\u2029]/
// What .NET's TrimStart removes (Unicode white space); JS \s lacks U+0085.
const COMMAND_START = /^[\s\u0085]*::/
const LEGACY_COMMAND = '##['

/** The message as lines, as the runner would read them once written with a trailing line end. */
export function logLines(message: string): string[] {
  return message.split(/\r\n|[\r\n]/)
}

/** Would the runner (or a reader splitting on any Unicode line end) take `line` as a command? */
export function isCommandLike(line: string): boolean {
  return line.includes(LEGACY_COMMAND) || line.split(LINE_BREAK).some(part => COMMAND_START.test(part))
}

/**
 * One line made safe to print: unchanged unless it could be read as a workflow command; then its
 * JSON string (starts with `"`), with `##[` written `##\u005b` and the Unicode line ends escaped, so
 * the line still says exactly what the text was.
 */
export function safeLine(line: string): string {
  if (!isCommandLike(line)) return line
  return JSON.stringify(line)
    .replaceAll(LEGACY_COMMAND, '##\\u005b')
    .replace(/[\u0085\u2028\u2029]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Every line of `message` made safe, joined with \n. */
export function safeText(message: string): string {
  return logLines(message).map(safeLine).join('\n')
}

/**
 * JSON text (pretty or not) made safe to print: its lines start with `{`, `}`, `[`, `]` or white
 * space and `"`, never `::`; only a legacy `##[` inside a string could run, and `##\u005b` is the same
 * JSON string.
 */
export function safeJson(json: string): string {
  return json.replaceAll(LEGACY_COMMAND, '##\\u005b')
}

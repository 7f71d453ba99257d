/**
 * The TypeScript blocks of a Markdown file, and how each becomes a file to type-check.
 *
 * Rules (readme-types.spec.ts applies them to README.md):
 * 1. Every fenced block whose language is `ts` or `typescript` is checked; other blocks are not.
 * 2. A block with a top-level `import` or `export` line is a module: its file is the block as is.
 * 3. Any other block is a fragment: its file is the fragment prelude (module-scope declarations
 *    of the names fragments use without declaring them: `scheduler`, `locks`, …), then the block
 *    wrapped in `export async function readmeBlockN(): Promise<void> { … }`, so that it may
 *    `await` and its names stay its own.
 * 4. A block is left out only with `<!-- readme-typecheck: skip <reason> -->` on the line right
 *    above its fence; a skip without a reason is an error.
 */
export interface ReadmeBlock {
  /** 1 for the first TypeScript block of the file. */
  index: number;
  /** Line number (1-based) in the Markdown file of the block's first line of code. */
  line: number;
  kind: 'module' | 'fragment';
  code: string;
  /** Why the block is not checked, when it carries a skip marker. */
  skip?: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
const SKIP = /^<!--\s*readme-typecheck:\s*skip\b(.*?)-->\s*$/;
const TYPESCRIPT = new Set(['ts', 'typescript']);

export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, fence, language] = open;
    let end = i + 1;
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) end++;
    if (TYPESCRIPT.has(language.toLowerCase())) {
      const code = lines.slice(i + 1, end).join('\n');
      const block: ReadmeBlock = {
        index: blocks.length + 1,
        line: i + 2,
        kind: /^(import|export)\s/m.test(code) ? 'module' : 'fragment',
        code,
      };
      const marker = i > 0 ? SKIP.exec(lines[i - 1].trim()) : null;
      if (marker) {
        const reason = marker[1].replace(/^[\s:—-]+/, '').trim();
        if (!reason) {
          throw new Error(
            `line ${i}: a readme-typecheck skip marker must say why the block is left out`,
          );
        }
        block.skip = reason;
      }
      blocks.push(block);
    }
    i = end;
  }
  return blocks;
}

/**
 * The file a block becomes: its name, how many lines come before the block's code, its text.
 * `fragmentPrelude` (one or more whole lines) opens the file of every fragment.
 */
export function blockFile(
  block: ReadmeBlock,
  fragmentPrelude: string,
): { name: string; offset: number; text: string } {
  const name = `readme-block-${String(block.index).padStart(2, '0')}.ts`;
  if (block.kind === 'module') return { name, offset: 0, text: `${block.code}\n` };
  const head = `${fragmentPrelude.replace(/\n$/, '')}\nexport async function readmeBlock${block.index}(): Promise<void> {`;
  return { name, offset: head.split('\n').length, text: `${head}\n${block.code}\n}\n` };
}

// jaild's static checks for JavaScript, run inside a jail. Reads
// {"files": [{"name", "content"}], "allow_imports": [...], "deny_imports": [...]}
// on stdin, writes {"findings": [{file, line, column, rule, message}]}.
//
// Node ships no public parser, so this is a tokenizer: it understands
// strings, template literals (with nested ${}), comments, regular
// expression literals (by the previous token, as parsers do) and
// punctuation, and matches token patterns. It is not a full parser: see
// docs/POLICY.md for what it cannot see. Syntax errors come from V8 itself
// (vm.Script / vm.SourceTextModule compile the code without running it).
'use strict';
const vm = require('vm');

const REGEX_AFTER = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void',
  'throw', 'instanceof', 'yield', 'await', '']);
const DYNAMIC = new Set(['eval', 'Function', 'AsyncFunction', 'GeneratorFunction']);
const PROCESS_INTERNALS = new Set(['binding', '_linkedBinding', 'dlopen', 'mainModule', 'reallyExit', 'kill',
  'getBuiltinModule', 'execve']);
const SUSPICIOUS = new Set(['child_process', 'eval', 'Function', 'constructor', 'binding', '_linkedBinding',
  'dlopen', 'mainModule', 'require', 'vm', 'process']);

function tokenize(src) {
  const toks = [];
  let i = 0, line = 1, col = 1;
  const braces = []; // for each open "{" or "${": true when it is a template's ${
  const adv = (n) => { for (let k = 0; k < n; k++) { if (src[i] === '\n') { line++; col = 1; } else col++; i++; } };
  const prevSig = () => toks.length ? toks[toks.length - 1] : null;
  const regexAllowed = () => {
    const p = prevSig();
    if (!p) return true;
    if (p.type === 'id') return REGEX_AFTER.has(p.value);
    if (p.type === 'num' || p.type === 'str' || p.type === 'tmpl' || p.type === 'regex') return false;
    return !(p.value === ')' || p.value === ']');
  };
  // template reads a template chunk from i (just after ` or }) to the next ` or ${.
  const template = (startLine, startCol) => {
    let s = '';
    while (i < src.length) {
      if (src[i] === '\\') { s += src.slice(i, i + 2); adv(2); continue; }
      if (src[i] === '`') { adv(1); toks.push({type: 'tmpl', value: s, line: startLine, col: startCol}); return; }
      if (src[i] === '$' && src[i + 1] === '{') { adv(2); braces.push(true); toks.push({type: 'tmpl', value: s, line: startLine, col: startCol, open: true}); return; }
      s += src[i]; adv(1);
    }
    throw {line: startLine, col: startCol, msg: 'unterminated template literal'};
  };
  while (i < src.length) {
    const c = src[i], l = line, k = col;
    if (c === '\n' || c === ' ' || c === '\t' || c === '\r' || c === '\ufeff' || c === '\u2028' || c === '\u2029') { adv(1); continue; }
    if (c === '/' && src[i + 1] === '/') { while (i < src.length && src[i] !== '\n') adv(1); continue; }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw {line: l, col: k, msg: 'unterminated comment'};
      adv(end + 2 - i); continue;
    }
    if (c === '#' && src[i + 1] === '!' && i === 0) { while (i < src.length && src[i] !== '\n') adv(1); continue; }
    if (c === '"' || c === "'") {
      let s = ''; adv(1);
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\n') throw {line: l, col: k, msg: 'unterminated string'};
        if (src[i] === '\\') { s += unescape(src.slice(i, i + 6)); adv(src[i + 1] === 'u' || src[i + 1] === 'x' ? 1 : 2); continue; }
        s += src[i]; adv(1);
      }
      if (i >= src.length) throw {line: l, col: k, msg: 'unterminated string'};
      adv(1); toks.push({type: 'str', value: s, line: l, col: k}); continue;
    }
    if (c === '`') { adv(1); template(l, k); continue; }
    if (c === '}' && braces.length && braces[braces.length - 1]) { braces.pop(); adv(1); template(l, k); continue; }
    if (c === '/' && regexAllowed()) {
      let inClass = false; adv(1);
      while (i < src.length && (inClass || src[i] !== '/')) {
        if (src[i] === '\n') throw {line: l, col: k, msg: 'unterminated regular expression'};
        if (src[i] === '\\') { adv(2); continue; }
        if (src[i] === '[') inClass = true; else if (src[i] === ']') inClass = false;
        adv(1);
      }
      adv(1); while (i < src.length && /[a-z]/i.test(src[i])) adv(1);
      toks.push({type: 'regex', value: '', line: l, col: k}); continue;
    }
    const id = /^[\p{ID_Start}$_\\][\p{ID_Continue}$_\u200c\u200d\\]*/u.exec(src.slice(i, i + 256));
    if (id) {
      // \u escapes in identifiers (e\u0076al) spell the same name.
      const value = id[0].includes('\\') ? id[0].replace(/\\u\{?([0-9a-fA-F]+)\}?/g, (_, h) => String.fromCodePoint(parseInt(h, 16))) : id[0];
      adv(id[0].length); toks.push({type: 'id', value, line: l, col: k}); continue;
    }
    const num = /^(?:0[xXoObB][0-9a-fA-F_]+n?|\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?n?|\.\d[\d_]*(?:[eE][+-]?\d+)?)/.exec(src.slice(i, i + 64));
    if (num) { adv(num[0].length); toks.push({type: 'num', value: num[0], line: l, col: k}); continue; }
    if (c === '{') braces.push(false);
    if (c === '}') braces.pop();
    const p = /^(?:\?\.|\.\.\.|[=!]==?|=>|[-+*/%&|^<>]=?|&&|\|\||\?\?|[()[\]{};,.?:~!])/.exec(src.slice(i, i + 4));
    const v = p ? p[0] : c;
    adv(v.length); toks.push({type: 'punct', value: v, line: l, col: k});
  }
  return toks;
}

function unescape(s) {
  if (s[1] === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(2, 6))) return String.fromCharCode(parseInt(s.slice(2, 6), 16));
  if (s[1] === 'x') return '\\x';
  return s.slice(1, 2);
}

function check(name, src, allow, deny, local, out) {
  const add = (t, rule, message) => out.push({file: name, line: t.line, column: t.col, rule, message});
  const mod = (t, spec) => {
    if (spec.startsWith('.') || spec.startsWith('/')) return;
    const bare = spec.replace(/^node:/, '');
    const top = bare.startsWith('@') ? bare.split('/').slice(0, 2).join('/') : bare.split('/')[0];
    if (local.has(top)) return;
    if (deny.has(top) || deny.has(bare)) add(t, 'import_denied', `import of ${spec} is denied by the profile`);
    else if (allow.size && !allow.has(top) && !allow.has(bare)) add(t, 'import_not_allowed', `import of ${spec}: not in the profile's allowed modules`);
  };
  let toks;
  try { toks = tokenize(src); } catch (e) {
    if (e && e.msg) { add(e, 'syntax_error', e.msg); return false; }
    throw e;
  }
  let esm = false;
  for (let n = 0; n < toks.length; n++) {
    const t = toks[n], prev = toks[n - 1] || {}, next = toks[n + 1] || {}, next2 = toks[n + 2] || {};
    const isProp = prev.value === '.' || prev.value === '?.';
    const literalArg = next.value === '(' && (next2.type === 'str' || (next2.type === 'tmpl' && !next2.open)) &&
      (toks[n + 3] || {}).value === ')';
    if (t.type === 'id' && !isProp) {
      if (t.value === 'require') {
        if (literalArg) mod(t, next2.value);
        else add(t, 'dynamic_import', next.value === '(' ? 'require of a module named at run time' : 'require used as a value');
      } else if (t.value === 'import' && next.value === '(') {
        if (literalArg) mod(t, next2.value); else add(t, 'dynamic_import', 'import() of a module named at run time');
      } else if ((t.value === 'import' || t.value === 'export') && next.value !== '.' && next.value !== '(') {
        esm = true;
        // import x from 'm' / import 'm' / export * from 'm': the first string after the keyword.
        for (let m = n + 1; m < toks.length && m < n + 200 && toks[m].value !== ';'; m++) {
          if (toks[m].type === 'str') {
            if (toks[m - 1].value === 'from' || m === n + 1) mod(toks[m], toks[m].value);
            break;
          }
          if (t.value === 'export' && m === n + 1 && toks[m].value !== '*' && toks[m].value !== '{') break;
        }
      } else if (DYNAMIC.has(t.value)) {
        add(t, 'dynamic_code', `use of ${t.value}`);
      } else if ((t.value === 'setTimeout' || t.value === 'setInterval' || t.value === 'setImmediate') && next.value === '(' &&
        (next2.type === 'str' || next2.type === 'tmpl')) {
        add(t, 'dynamic_code', `${t.value} with a string runs it as code`);
      } else if ((t.value === 'globalThis' || t.value === 'global' || t.value === 'window' || t.value === 'self') &&
        next.value === '[' && !(next2.type === 'str' && (toks[n + 3] || {}).value === ']')) {
        add(t, 'dynamic_global', `${t.value}[…] reaches a global named at run time`);
      }
      if ((t.value === 'process' || t.value === 'module') && (next.value === '.' || next.value === '?.' || next.value === '[')) {
        const prop = next.value === '[' ? (next2.type === 'str' ? next2.value : null) : next2.value;
        if (prop === null) add(t, 'process_internals', `${t.value}[…] with a computed name`);
        else if (t.value === 'process' && PROCESS_INTERNALS.has(prop)) add(t, 'process_internals', `process.${prop} reaches native internals`);
        else if (t.value === 'module' && (prop === 'constructor' || prop === 'require' || prop === 'children' || prop === 'parent'))
          add(t, 'process_internals', `module.${prop} reaches the module loader`);
      }
    }
    if (t.type === 'id' && isProp && (t.value === 'constructor' || t.value === '__proto__' || t.value === 'getPrototypeOf' || t.value === 'cache'))
      add(t, 'dunder_access', `.${t.value} reaches constructors or the module cache (Function via (()=>{}).constructor)`);
    if ((t.type === 'str' || (t.type === 'tmpl' && !t.open)) && SUSPICIOUS.has(t.value.replace(/^node:/, '')))
      add(t, 'suspicious_string', `string ${JSON.stringify(t.value)} names a module or internal`);
    if (t.type === 'punct' && t.value === '[' && (prev.type === 'id' || prev.value === ')' || prev.value === ']') && next.type === 'str' &&
      (DYNAMIC.has(next.value) || next.value === 'constructor' || PROCESS_INTERNALS.has(next.value)))
      add(next, 'dynamic_code', `["${next.value}"] reaches ${next.value}`);
  }
  return esm || name.endsWith('.mjs');
}

function syntax(name, src, esm, out) {
  try {
    if (esm && vm.SourceTextModule) new vm.SourceTextModule(src, {identifier: name});
    else if (!esm) new vm.Script('(function (exports, require, module, __filename, __dirname) {' + src + '\n})', {filename: name});
  } catch (e) {
    if (!(e instanceof SyntaxError)) {
      // V8's parser out of stack (RangeError) and the like: fail closed.
      out.push({file: name, line: 0, column: 0, rule: 'analysis_failed', message: `cannot compile: ${e && e.name}`});
      return;
    }
    const m = new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + ':(\\d+)').exec(String(e.stack));
    out.push({file: name, line: m ? Number(m[1]) : 0, column: 0, rule: 'syntax_error', message: e.message});
  }
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const allow = new Set(req.allow_imports || []), deny = new Set(req.deny_imports || []);
  const files = req.files || [];
  const local = new Set(files.map((f) => f.name.split('/')[0].replace(/\.[cm]?js$/, '')));
  const out = [];
  for (const f of files) {
    const before = out.length;
    const esm = check(f.name, f.content, allow, deny, local, out);
    if (!out.slice(before).some((x) => x.rule === 'syntax_error')) syntax(f.name, f.content, esm, out);
  }
  out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
  process.stdout.write(JSON.stringify({findings: out}));
});

"""What "fits the screen" means, measured in a real browser: run in the page by Playwright's evaluate.

Used by tests/test_screens.py (big screen, phone view, briefing) and by hand (bench/ and the docs).
Each check returns a list of problems, each a short sentence naming the element; an empty list passes.
"""
from __future__ import annotations

# A readable name for an element in a problem report, shared by the checks below.
_DESCRIBE = """
const describe = (el) => {
  const cls = (el.getAttribute('class') || '').split(/\\s+/).filter(c => c && !c.startsWith('st-emotion')).slice(0, 3);
  const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 30);
  return `${el.tagName.toLowerCase()}${el.getAttribute('data-testid') ? '[' + el.getAttribute('data-testid') + ']' : ''}`
    + (cls.length ? '.' + cls.join('.') : '') + (text ? ` "${text}"` : '');
};
const visible = (el) => {
  const r = el.getBoundingClientRect();
  if (r.width < 0.5 || r.height < 0.5) return false;
  const cs = getComputedStyle(el);
  return cs.visibility !== 'hidden' && cs.display !== 'none' && Number(cs.opacity) > 0;
};
const ownText = (el) => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
const intersect = (a, b, pad = 0.5) =>
  Math.min(a.right, b.right) - Math.max(a.left, b.left) > pad && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > pad;
"""

# Inside the viewport, no HTML text cut by its box, no clipping container hiding content, no SVG text
# leaving its chart or lying over another text, the stage's blocks and tiles apart, no scrollbars.
FITS = "() => {" + _DESCRIBE + """
  const W = window.innerWidth, H = window.innerHeight, tol = 1.5, problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > W + 1 || doc.scrollHeight > H + 1) problems.push(`page scrolls: ${doc.scrollWidth}×${doc.scrollHeight}`);
  const root = document.querySelector('[data-testid="stMainBlockContainer"]') || document.body;
  for (const el of root.querySelectorAll('*')) {
    if (el.closest('script, style, defs, title') || !visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -tol || r.top < -tol || r.right > W + tol || r.bottom > H + tol)
      problems.push(`outside the screen: ${describe(el)} at ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)}`);
    if (!(el instanceof HTMLElement)) continue;
    const cs = getComputedStyle(el);
    if (ownText(el) && cs.display !== 'inline' && (el.scrollWidth > el.clientWidth + 1))
      problems.push(`text wider than its box: ${describe(el)} (${el.scrollWidth} > ${el.clientWidth})`);
    if (['hidden', 'clip'].includes(cs.overflowY) && el.scrollHeight > el.clientHeight + 2)
      problems.push(`content cut at the bottom: ${describe(el)} (${el.scrollHeight} > ${el.clientHeight})`);
    if (['hidden', 'clip'].includes(cs.overflowX) && el.scrollWidth > el.clientWidth + 2)
      problems.push(`content cut at the side: ${describe(el)} (${el.scrollWidth} > ${el.clientWidth})`);
  }
  for (const fig of root.querySelectorAll('.sc-fig')) {
    const box = fig.getBoundingClientRect();
    const plot = fig.querySelector('svg.sc');
    const texts = [...fig.querySelectorAll('svg.sc text')].filter(visible);
    for (const t of texts) {
      const r = t.getBoundingClientRect();
      if (r.left < box.left - tol || r.right > box.right + tol || r.top < box.top - tol || r.bottom > box.bottom + tol)
        problems.push(`chart text leaves its chart: ${describe(t)}`);
      if (t.classList.contains('sc-mark') && plot) {
        const p = plot.getBoundingClientRect();
        if (r.left < p.left - tol || r.right > p.right + tol) problems.push(`milestone title leaves the plot: ${describe(t)}`);
      }
    }
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++)
      if (intersect(texts[i].getBoundingClientRect(), texts[j].getBoundingClientRect(), 1))
        problems.push(`chart texts overlap: ${describe(texts[i])} / ${describe(texts[j])}`);
  }
  const groups = [['.bs-top', '.st-key-bs-view', '.bs-foot'], ['.bs-tile, .bs-scope']];
  for (const sel of groups) {
    const els = sel.flatMap(s => [...root.querySelectorAll(s)]).filter(visible);
    for (let i = 0; i < els.length; i++) for (let j = i + 1; j < els.length; j++)
      if (!els[i].contains(els[j]) && !els[j].contains(els[i]) && intersect(els[i].getBoundingClientRect(), els[j].getBoundingClientRect(), 1))
        problems.push(`overlap: ${describe(els[i])} / ${describe(els[j])}`);
  }
  return [...new Set(problems)];
}"""

# A phone page: nothing wider than the screen (no sideways scrolling), no text cut by its box,
# chart text inside its chart and apart; returns problems and where the first chart starts.
PHONE = "() => {" + _DESCRIBE + """
  const W = window.innerWidth, tol = 1.5, problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > W + 1) problems.push(`page scrolls sideways: ${doc.scrollWidth} > ${W}`);
  const root = document.querySelector('[data-testid="stMain"]') || document.body;
  for (const el of root.querySelectorAll('*')) {
    if (el.closest('script, style, defs, title, [data-testid="stSidebar"]') || !visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -tol || r.right > W + tol) problems.push(`wider than the screen: ${describe(el)} (${Math.round(r.left)}–${Math.round(r.right)})`);
    if (el instanceof HTMLElement && ownText(el) && getComputedStyle(el).display !== 'inline' && el.scrollWidth > el.clientWidth + 1)
      problems.push(`text wider than its box: ${describe(el)}`);
  }
  for (const fig of root.querySelectorAll('.sc-fig')) {
    const box = fig.getBoundingClientRect();
    const texts = [...fig.querySelectorAll('svg.sc text')].filter(visible);
    for (const t of texts) {
      const r = t.getBoundingClientRect();
      if (r.left < box.left - tol || r.right > box.right + tol) problems.push(`chart text leaves its chart: ${describe(t)}`);
    }
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++)
      if (intersect(texts[i].getBoundingClientRect(), texts[j].getBoundingClientRect(), 1))
        problems.push(`chart texts overlap: ${describe(texts[i])} / ${describe(texts[j])}`);
    const small = texts.filter(t => parseFloat(getComputedStyle(t).fontSize) < 11);
    if (small.length) problems.push(`chart text under 11 px: ${describe(small[0])}`);
  }
  const first = root.querySelector('.sc-fig svg.sc');
  const top = first ? first.getBoundingClientRect().top + window.scrollY : null;
  return {problems: [...new Set(problems)], firstChartTop: top};
}"""

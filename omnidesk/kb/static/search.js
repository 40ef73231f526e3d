// The help centre's search, without a server: window.KB_INDEX (search-index.js) holds
// {"docs": [[url, title, language, excerpt], ...], "terms": {token: [doc, weight, doc, weight, ...]}}.
// Text is split exactly as omnidesk/kb/suggest.py `tokens` splits it when the index is written:
// accents and case folded outside CJK runs, CJK runs as overlapping bigrams (so a two-character
// Chinese word is found), everything but letters and digits a separator. Words are ANDed;
// the last one is matched as a prefix while it is being typed. Results go in with textContent:
// nothing from the index is ever read as HTML.
"use strict";
(function () {
  const CJK = "\u1100-\u11ff\u3040-\u309f\u30a0-\u30ff\u3131-\u318e\u31f0-\u31ff\u3400-\u4dbf" +
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\u{20000}-\u{3134f}";
  const CJK_RUN = new RegExp("[" + CJK + "]+", "gu");
  const NOT_CJK = new RegExp("[^" + CJK + "]+", "gu");
  const ONE_CJK = new RegExp("^[" + CJK + "]$", "u");
  const TOKEN = /[\p{L}\p{N}]+/gu;

  function fold(text) {
    return text.replace(NOT_CJK, (run) => run.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase());
  }
  function bigrams(run) {
    const chars = Array.from(run);
    if (chars.length === 1) return run;
    const out = [];
    for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i] + chars[i + 1]);
    return out.join(" ");
  }
  function tokens(text) {
    const prepared = fold(text).replace(CJK_RUN, (run) => " " + bigrams(run) + " ");
    return prepared.match(TOKEN) || [];
  }

  function postings(index, token, prefix) {
    const found = new Map();
    const keys = prefix ? Object.keys(index.terms).filter((k) => k.startsWith(token)) : [token];
    const total = index.docs.length;
    for (const key of keys) {
      const list = index.terms[key];
      if (!list) continue;
      const idf = Math.log(1 + total / (list.length / 2));
      for (let i = 0; i < list.length; i += 2) {
        found.set(list[i], (found.get(list[i]) || 0) + list[i + 1] * idf);
      }
    }
    return found;
  }

  function search(index, query, language) {
    const words = tokens(query);
    if (!words.length) return [];
    let scores = null;
    words.forEach((word, i) => {
      // A lone CJK character is held only inside bigrams: match it as their prefix.
      const hits = postings(index, word, i === words.length - 1 || ONE_CJK.test(word));
      if (scores === null) { scores = hits; return; }
      for (const doc of Array.from(scores.keys())) {
        if (hits.has(doc)) scores.set(doc, scores.get(doc) + hits.get(doc));
        else scores.delete(doc);
      }
    });
    return Array.from(scores.entries())
      .filter(([doc]) => !language || index.docs[doc][2] === language)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, 50)
      .map(([doc]) => index.docs[doc]);
  }

  function show(results, list, status) {
    list.replaceChildren();
    for (const [url, title, language, excerpt] of results) {
      const item = document.createElement("li");
      item.lang = language;
      item.dir = "auto";
      const link = document.createElement("a");
      link.href = url;
      link.textContent = title;
      const tag = document.createElement("span");
      tag.className = "language";
      tag.textContent = language;
      const text = document.createElement("p");
      text.textContent = excerpt;
      item.append(link, " ", tag, text);
      list.append(item);
    }
    status.textContent = results.length ? results.length + " found" : "Nothing found";
  }

  window.kbSearch = { tokens: tokens, search: (q, lang) => search(window.KB_INDEX, q, lang || "") };

  document.addEventListener("DOMContentLoaded", () => {
    const input = document.getElementById("q");
    const select = document.getElementById("language");
    const list = document.getElementById("results");
    const status = document.getElementById("status");
    if (!input || !list) return;
    const run = () => {
      if (!input.value.trim()) { list.replaceChildren(); status.textContent = ""; return; }
      show(window.kbSearch.search(input.value, select ? select.value : ""), list, status);
    };
    const given = new URLSearchParams(window.location.search).get("q");
    if (given) input.value = given;
    input.addEventListener("input", run);
    if (select) select.addEventListener("change", run);
    run();
  });
})();

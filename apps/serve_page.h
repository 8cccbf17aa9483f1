/* serve_page.h: the chat page `tick serve` answers GET / with: one
 * self-contained HTML file (no external scripts, styles or fonts). It
 * streams /v1/chat/completions (SSE) into the last message and shows each
 * answer's tokens and tok/s (completion_tokens from the final usage chunk
 * over the time from the first to the last chunk).
 * When an answer is done it sets document.title to "tick: done" (or
 * "tick: error ..."), which the headless-browser test waits for;
 * ?max_tokens=N caps answers, ?key=KEY sets the API key. */
#ifndef TK_APPS_SERVE_PAGE_H
#define TK_APPS_SERVE_PAGE_H

static const char SERVE_PAGE[] =
"<!doctype html>\n"
"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
"<title>tick</title>\n"
"<style>\n"
"body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f4f4f2;color:#222;display:flex;flex-direction:column;height:100vh}\n"
"header{padding:10px 16px;background:#1d2b36;color:#fff;display:flex;gap:12px;align-items:center}\n"
"header b{font-size:17px}header span{opacity:.75;font-size:13px}\n"
"header input{margin-left:auto;padding:4px 6px;border-radius:4px;border:0;width:160px}\n"
"#log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:10px}\n"
".msg{max-width:75%;padding:8px 12px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}\n"
".user{align-self:flex-end;background:#2f6fde;color:#fff}\n"
".assistant{align-self:flex-start;background:#fff;border:1px solid #ddd}\n"
".stat{font-size:12px;color:#777;margin-top:4px}.err{color:#b00020}\n"
"form{display:flex;gap:8px;padding:12px 16px;background:#fff;border-top:1px solid #ddd}\n"
"textarea{flex:1;resize:none;height:44px;padding:8px;font:inherit;border:1px solid #bbb;border-radius:6px}\n"
"button{padding:0 18px;font:inherit;background:#1d2b36;color:#fff;border:0;border-radius:6px;cursor:pointer}\n"
"button:disabled{opacity:.5}\n"
"</style></head><body>\n"
"<header><b>tick</b><span id=\"model\">...</span>"
"<input id=\"key\" type=\"password\" placeholder=\"API key (if set)\"></header>\n"
"<div id=\"log\"></div>\n"
"<form id=\"f\"><textarea id=\"q\" placeholder=\"Say something (Enter sends, Shift+Enter: new line)\"></textarea>"
"<button id=\"send\">Send</button></form>\n"
"<script>\n"
"'use strict';\n"
"const P=new URLSearchParams(location.search), $=id=>document.getElementById(id);\n"
"const hist=[]; let busy=false;\n"
"$('key').value=P.get('key')||localStorage.getItem('tick-key')||'';\n"
"$('key').onchange=()=>localStorage.setItem('tick-key',$('key').value);\n"
"function hdrs(){const h={'Content-Type':'application/json'};if($('key').value)h.Authorization='Bearer '+$('key').value;return h;}\n"
"fetch('/v1/models',{headers:hdrs()}).then(r=>r.json()).then(j=>{$('model').textContent=j.data?j.data[0].id:(j.error&&j.error.message)}).catch(()=>{});\n"
"function add(cls,text){const d=document.createElement('div');d.className='msg '+cls;const t=document.createElement('div');"
"t.textContent=text;d.appendChild(t);$('log').appendChild(d);$('log').scrollTop=1e9;return d;}\n"
"async function send(text){\n"
"  if(busy||!text.trim())return; busy=true; $('send').disabled=true;\n"
"  hist.push({role:'user',content:text}); add('user',text);\n"
"  const box=add('assistant',''), body=box.firstChild, stat=document.createElement('div');\n"
"  stat.className='stat'; box.appendChild(stat);\n"
"  let out='', n=0, t0=performance.now(), t1=0, t2=0, usage=null, tm=null;\n"
"  try{\n"
"    const r=await fetch('/v1/chat/completions',{method:'POST',headers:hdrs(),body:JSON.stringify({messages:hist,stream:true,"
"max_tokens:+(P.get('max_tokens')||256),stream_options:{include_usage:true}})});\n"
"    if(!r.ok){const j=await r.json().catch(()=>({}));throw new Error(r.status+' '+((j.error&&j.error.message)||r.statusText));}\n"
"    const rd=r.body.getReader(), dec=new TextDecoder(); let buf='';\n"
"    for(;;){const {value,done}=await rd.read(); if(done)break; buf+=dec.decode(value,{stream:true});\n"
"      let i; while((i=buf.indexOf('\\n\\n'))>=0){const ev=buf.slice(0,i); buf=buf.slice(i+2);\n"
"        if(!ev.startsWith('data: '))continue; const data=ev.slice(6); if(data==='[DONE]')continue;\n"
"        const j=JSON.parse(data); if(j.error)throw new Error(j.error.message);\n"
"        if(j.usage)usage=j.usage; if(j.timings)tm=j.timings;\n"
"        const c=j.choices&&j.choices[0]; if(c&&c.delta&&c.delta.content){if(!t1)t1=performance.now(); out+=c.delta.content; n++;"
" body.textContent=out; t2=performance.now();\n"
"          const s=(t2-t1)/1000; stat.textContent=n+' chunks'+(s>0?', '+(n/s).toFixed(1)+' tok/s':'');$('log').scrollTop=1e9;}}}\n"
"    const toks=usage?usage.completion_tokens:n, s=t2>t1?(t2-t1)/1000:0;\n"
"    /* tok/s as this browser saw it; the server's own measure when the stream came in one piece */\n"
"    const tps=s>0&&toks>1?(toks-1)/s:(tm?tm.predicted_per_second:0);\n"
"    stat.textContent=toks+' tokens, '+tps.toFixed(1)+' tok/s, first token '+((t1-t0)/1000).toFixed(2)+' s';\n"
"    hist.push({role:'assistant',content:out});\n"
"    document.title='tick: done'; box.dataset.done='1';\n"
"  }catch(e){stat.textContent='error: '+e.message; stat.classList.add('err'); document.title='tick: error '+e.message;}\n"
"  busy=false; $('send').disabled=false;\n"
"}\n"
"$('f').onsubmit=e=>{e.preventDefault();const t=$('q').value;$('q').value='';send(t);};\n"
"$('q').onkeydown=e=>{if(e.key==='Enter'&&!e.shiftKey){e.preventDefault();$('f').requestSubmit();}};\n"
"</script></body></html>\n";

#endif

"use strict";
const KEY = new URLSearchParams(location.search).get("key");
const q = KEY ? "?key=" + encodeURIComponent(KEY) : "";
const COLORS = ["#1f77b4","#2ca02c","#d62728","#9467bd","#ff7f0e","#8c564b","#e377c2","#17becf"];
const PROBLEMS = new Set(["failed","unknown","calib_failed","not_ready","not_attempted"]);
const SHOWN = ["seen_total","waiting","sending","uploaded_total","calibrated","failed","unknown","calib_failed"];
const LABELS = {seen_total:"frames seen",waiting:"waiting to settle",sending:"sending",
  uploaded_total:"uploaded",calibrated:"calibrated",failed:"failed",unknown:"unknown",
  calib_failed:"calibration failed"};
const frames = new Map();
const points = [];
let lastBeat = Date.now(), ended = false, plotQueued = false;

function el(tag, attrs, text){const e=document.createElementNS(
  tag==="svg"||["circle","line","path","text","g","polygon","rect"].includes(tag)
  ?"http://www.w3.org/2000/svg":"http://www.w3.org/1999/xhtml",tag);
  for(const k in attrs||{}) e.setAttribute(k, attrs[k]); if(text!==undefined) e.textContent=text; return e;}
function bytes(n){if(n==null)return "-";const u=["B","KiB","MiB","GiB","TiB"];let i=0;
  while(n>=1024&&i<u.length-1){n/=1024;i++;} return n.toFixed(i?1:0)+" "+u[i];}
function secs(s){return s==null?"-":s<120?s.toFixed(1)+" s":(s/60).toFixed(1)+" min";}

function header(h){
  const box=document.getElementById("counts");
  for(const k of SHOWN){const n=h.counts[k]||0; let d=box.querySelector(`[data-state="${k}"]`);
    if(!d){d=el("div",{class:"count","data-state":k}); d.append(el("b",{},""),LABELS[k]); box.append(d);}
    d.classList.toggle("bad",PROBLEMS.has(k)&&n>0); d.firstChild.textContent=String(n);}
  document.getElementById("bytes").textContent=bytes(h.bytes_sent)+" sent, "+
    (h.rate==null?"rate -":bytes(h.rate)+"/s")+"; calibration lag median "+secs(h.lag.median)+
    ", last "+secs(h.lag.last)+"; "+h.points+" light-curve points"+
    (h.rate_limit_pauses?"; server asked to slow down (429) "+h.rate_limit_pauses+"×, paused "+secs(h.rate_limit_seconds):"");
  const st=document.getElementById("stalled"); st.textContent=h.stalled||""; st.classList.toggle("on",!!h.stalled);
  if(h.verdict){const e=document.getElementById("ended"); const left=h.counts.uploaded||0;
    e.textContent="Uploads finished ("+h.verdict+")"+(left?"; waiting for "+left+" calibrations":"");
    e.classList.add("on");}
}

function row(f){
  let tr=frames.get(f.key);
  if(!tr){tr=el("tr"); frames.set(f.key,tr);}
  tr.className=f.state; tr.textContent="";
  const mag=f.magnitude==null?"":(f.limit?">":"")+f.magnitude.toFixed(3)+" ± "+(f.error||0).toFixed(3);
  for(const v of [f.name,f.id==null?"":f.id,f.state.replace("_"," "),mag,f.filter||"",f.reason||""]) tr.append(el("td",{},String(v)));
  const home=PROBLEMS.has(f.state)?"problems":"recent";
  const body=document.getElementById(home);
  if(tr.parentNode!==body||home==="recent"){body.prepend(tr);}
  const recent=document.getElementById("recent");
  while(recent.rows.length>100){const last=recent.rows[recent.rows.length-1]; last.remove();}
  document.getElementById("problems-box").style.display=document.getElementById("problems").rows.length?"":"none";
}

function queuePlot(){if(!plotQueued){plotQueued=true; requestAnimationFrame(()=>{plotQueued=false; plot();});}}

function plot(){
  const svg=document.getElementById("plot"); svg.textContent="";
  const W=+svg.getAttribute("width"),H=+svg.getAttribute("height"),L=60,R=130,T=15,B=40;
  if(!points.length){svg.append(el("text",{x:W/2-60,y:H/2},"no calibrated frame yet")); return;}
  let x0=Infinity,x1=-Infinity,y0=Infinity,y1=-Infinity;
  for(const p of points){x0=Math.min(x0,p.mjd);x1=Math.max(x1,p.mjd);
    y0=Math.min(y0,p.mag-(p.limit?0:p.err));y1=Math.max(y1,p.mag+(p.limit?0:p.err));}
  if(x1===x0){x0-=0.01;x1+=0.01;} if(y1===y0){y0-=0.1;y1+=0.1;}
  const padX=(x1-x0)*0.05, padY=(y1-y0)*0.08; x0-=padX; x1+=padX; y0-=padY; y1+=padY;
  const px=v=>L+(v-x0)/(x1-x0)*(W-L-R), py=v=>T+(v-y0)/(y1-y0)*(H-T-B);  // brighter (smaller) up
  svg.append(el("line",{x1:L,y1:H-B,x2:W-R,y2:H-B,stroke:"#888"}),el("line",{x1:L,y1:T,x2:L,y2:H-B,stroke:"#888"}));
  for(let i=0;i<=4;i++){const xv=x0+(x1-x0)*i/4, yv=y0+(y1-y0)*i/4;
    svg.append(el("text",{x:px(xv)-25,y:H-B+15},xv.toFixed(3)),el("text",{x:5,y:py(yv)+4},yv.toFixed(2)));}
  svg.append(el("text",{x:(W-R)/2,y:H-5},"MJD"),el("text",{x:L+5,y:T+8},"mag (brighter up)"));
  const filters=[...new Set(points.map(p=>p.filter))].sort();
  const g=el("g",{id:"points"}); svg.append(g);
  const newest=points[points.length-1];
  for(const p of points){const c=COLORS[filters.indexOf(p.filter)%COLORS.length], x=px(p.mjd), y=py(p.mag);
    if(p.limit){g.append(el("polygon",{class:"pt limit","data-filter":p.filter,points:`${x-4},${y-3} ${x+4},${y-3} ${x},${y+5}`,fill:"none",stroke:c}));}
    else{g.append(el("line",{x1:x,y1:py(p.mag-p.err),x2:x,y2:py(p.mag+p.err),stroke:c}));
      g.append(el("circle",{class:"pt","data-filter":p.filter,cx:x,cy:y,r:3,fill:c}));}
    if(p===newest) g.append(el("circle",{id:"newest",cx:x,cy:y,r:8,fill:"none",stroke:"#000","stroke-width":1.5}));}
  filters.forEach((f,i)=>{const c=COLORS[i%COLORS.length]; svg.append(el("circle",{cx:W-R+15,cy:T+10+i*16,r:4,fill:c}),
    el("text",{x:W-R+25,y:T+14+i*16},f+" ("+points.filter(p=>p.filter===f).length+")"));});
}

function apply(d){
  header(d);
  for(const f of d.frames) row(f);
  if(d.light_curve.length){points.push(...d.light_curve); queuePlot();}
  document.body.dataset.version=d.version;
}

function connect(){
  const es=new EventSource("events"+q);
  es.addEventListener("full",e=>{frames.clear();points.length=0;
    document.getElementById("problems").textContent="";document.getElementById("recent").textContent="";
    lastBeat=Date.now(); apply(JSON.parse(e.data)); queuePlot(); document.getElementById("lost").classList.remove("on");});
  es.addEventListener("delta",e=>{lastBeat=Date.now(); apply(JSON.parse(e.data));});
  es.addEventListener("beat",e=>{lastBeat=Date.now(); header(JSON.parse(e.data)); document.getElementById("lost").classList.remove("on");});
  es.addEventListener("bye",e=>{header(JSON.parse(e.data)); es.close(); ended=true;
    const lost=document.getElementById("lost"); lost.textContent="The bhtom process stopped serving this page (the job ended or was stopped); these are its last figures."; lost.classList.add("on");});
  es.onerror=()=>{if(!ended) lostSays();};
}
function lostSays(){const lost=document.getElementById("lost");
  lost.textContent="Lost the connection to the bhtom process "+Math.round((Date.now()-lastBeat)/1000)+" s ago; retrying…";
  lost.classList.add("on");}
setInterval(()=>{if(!ended&&Date.now()-lastBeat>8000) lostSays();},2000);
connect();

// The review page's only script (imr_llm/review/templates/page.html.j2 inlines it into every
// page, and the page's Content Security Policy allows it by its hash): select a value or a
// span, and step through flagged values. It reads the page's own attributes; it loads
// nothing and sends nothing.
(function(){
var rows={},marks={},current=null;
document.querySelectorAll('.val[data-path]').forEach(function(r){rows[r.dataset.path]=r;});
document.querySelectorAll('mark.hl').forEach(function(m){
 m.dataset.paths.split(' ').forEach(function(p){(marks[p]=marks[p]||[]).push(m);});});
function clear(){document.querySelectorAll('.sel').forEach(function(e){
 e.classList.remove('sel');});}
function select(path,from){
 clear();current=path;var row=rows[path],ms=marks[path]||[];
 if(row){row.classList.add('sel');
  if(from!=='row'){row.scrollIntoView({block:'center'});}}
 ms.forEach(function(m){m.classList.add('sel');});
 if(ms.length&&from!=='letter'){ms[0].scrollIntoView({block:'center'});}
}
Object.keys(rows).forEach(function(p){var r=rows[p];
 r.addEventListener('click',function(){select(p,'row');});
 r.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){
  e.preventDefault();select(p,'row');}});
 r.addEventListener('mouseenter',function(){(marks[p]||[]).forEach(function(m){
  m.classList.add('hover');});});
 r.addEventListener('mouseleave',function(){(marks[p]||[]).forEach(function(m){
  m.classList.remove('hover');});});
});
document.querySelectorAll('mark.hl').forEach(function(m){
 m.addEventListener('click',function(){var ps=m.dataset.paths.split(' ');
  var i=ps.indexOf(current);select(ps[(i+1)%ps.length],'letter');});});
var flagged=[].slice.call(document.querySelectorAll(
 '.val[data-path][data-status=unverified],.val[data-path][data-status=repaired]'));
flagged.sort(function(a,b){return (a.dataset.status==='unverified'?0:1)-
 (b.dataset.status==='unverified'?0:1);});
var next=document.getElementById('next-flag'),at=-1;
if(next){next.addEventListener('click',function(){if(!flagged.length){return;}
 at=(at+1)%flagged.length;select(flagged[at].dataset.path,'button');});}
document.addEventListener('keydown',function(e){if(e.key==='Escape'){clear();current=null;}});
})();

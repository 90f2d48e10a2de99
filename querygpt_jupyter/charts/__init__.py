"""Charts for a query result: `choose` picks a chart shape from (question, DataFrame) and reduces the
data to what is drawn (pure pandas); `render` builds the Altair chart and the offline mimebundle
(Vega-Lite spec + SVG + text). Nothing is imported here: Altair and vl-convert are slow to load."""

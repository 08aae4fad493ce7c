"""The review meeting: what the slides say (`deck`), and each way they are shown or handed out.

`deck.slide_deck` is the one place that decides what the meeting shows, in which order; the 例会
page (`html.stage_html`), the PPTX (`pptx`), the PDF (`pdf`, printing `html.deck_html`) and the XLSX
(`xlsx`) all draw from it, so the screen and the pack cannot drift apart. Every slide is laid out on
one 16:9 canvas, 13.333 × 7.5 inches (1280 × 720 CSS pixels), in PowerPoint and in the browser alike.
"""

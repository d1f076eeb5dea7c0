"""A newcomer's walk, for looking at the pages (not a benchmark, writes no docs).

    .venv/bin/python -m bench.walk_newcomer OUT_DIR

Brings up the demo site (bench._stack, a first model of 8 epochs), logs a new person in
through Chromium (/usr/bin/chromium), rates five films of one genre 4 and 5 stars on
their item pages, opens the page of a film of another genre and rates a third one 1 star,
and screenshots the home page and the #1 recommendation's "why" page in English and in
Chinese at 1280 and 390 px into OUT_DIR; then rates the opened film 5 stars and follows an
old "why" link of a film that left the list (left-*.png); prints the genre's share of the
top 10 and the pages' text.
"""
import os
import sys
import time

from playwright.sync_api import sync_playwright

from bench._stack import Stack, demo_site_with_person, free_port, wait

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Django queries beside the sync Playwright loop


def main(OUT: str) -> None:  # noqa: N803 - the folder the screenshots go to
    stack = Stack(prefix="recsite-walk-")
    try:
        demo_site_with_person(stack, "template", "pw-template-123", max_epochs=8)
        from recommender.models import Item, Recommendation
        genre_counts = {}
        for it in Item.objects.prefetch_related("genres"):
            for g in it.genres.all():
                genre_counts.setdefault(g.name, []).append(it.pk)
        genre = sorted(genre_counts, key=lambda g: -len(genre_counts[g]))[2]
        films = genre_counts[genre][:5]
        others = [pk for pk in sorted({pk for ids in genre_counts.values() for pk in ids})
                  if pk not in genre_counts[genre]][:2]  # opened, then disliked
        print("genre", genre, "films", films, "other genres", others, flush=True)
        from recsite.accounts.models import User
        User.objects.create_user("newcomer", password="pw-newcomer-123")
        base = stack.start_web(free_port(), workers=1)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium")
            ctx = b.new_context(base_url=base, viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.goto("/accounts/login/")
            page.locator("#id_username").fill("newcomer")
            page.locator("#id_password").fill("pw-newcomer-123")
            page.locator("#id_password").press("Enter")
            page.wait_for_load_state()
            for n, f in enumerate(films):
                page.goto(f"/items/{f}/")
                star = "5" if n % 2 else "4"
                btn = page.locator(f"form[action$='/rate/'] button[value='{star}']")
                btn.first.click()
                page.wait_for_load_state()
            page.goto(f"/items/{others[0]}/")  # a page they do not care about
            page.goto(f"/items/{others[1]}/")
            page.locator("form[action$='/rate/'] button[value='1']").first.click()  # a dislike
            page.wait_for_load_state()
            person = User.objects.get(username="newcomer")
            wait(lambda: Recommendation.objects.filter(user=person).exists(), 300, "list", 0.5)
            time.sleep(5)
            page.goto("/")
            page.screenshot(path=f"{OUT}/home-en-1280.png", full_page=True)
            top = list(Recommendation.objects.filter(user=person).order_by("rank")[:10])
            share = sum(any(g.name == genre for g in r.item.genres.all()) for r in top)
            print("share of", genre, "in top 10:", share, flush=True)
            first = top[0].item_id
            page.goto(f"/recommendations/{first}/why/")
            wait(lambda: "why" in page.url, 5, "why")
            time.sleep(8)
            page.reload()
            page.screenshot(path=f"{OUT}/why-en-1280.png", full_page=True)
            print(page.locator("main").inner_text()[:1500], flush=True)
            ctx2 = b.new_context(base_url=base, viewport={"width": 390, "height": 844}, locale="zh-CN")
            ctx2.add_cookies(ctx.cookies())
            page2 = ctx2.new_page()
            page2.goto(f"/recommendations/{first}/why/")
            page2.screenshot(path=f"{OUT}/why-zh-390.png", full_page=True)
            page2.goto("/")
            page2.screenshot(path=f"{OUT}/home-zh-390.png", full_page=True)
            for lang, width, height in (("en-GB", 390, 844), ("zh-CN", 1280, 900)):
                c = b.new_context(base_url=base, viewport={"width": width, "height": height}, locale=lang)
                c.add_cookies(ctx.cookies())
                pg = c.new_page()
                pg.goto(f"/recommendations/{first}/why/")
                pg.screenshot(path=f"{OUT}/why-{lang[:2]}-{width}.png", full_page=True)
            # an old link: rate the page they opened 5 stars, wait for the new list, then follow
            # the "why" link of a film that left it, as from a tab opened before
            before = {r.item_id: r.computed_at for r in Recommendation.objects.filter(user=person)}
            page.goto(f"/items/{others[0]}/")
            page.locator("form[action$='/rate/'] button[value='5']").first.click()
            page.wait_for_load_state()
            wait(lambda: Recommendation.objects.filter(user=person).exclude(
                computed_at__in=set(before.values())).exists(), 120, "the new list", 0.5)
            gone = [i for i in before if i not in set(Recommendation.objects.filter(user=person)
                                                      .values_list("item_id", flat=True))]
            print("left the list after the new rating:", gone[:5], flush=True)
            for lang, width, height in (("en-GB", 390, 844), ("zh-CN", 1280, 900)):
                if not gone:
                    break
                c = b.new_context(base_url=base, viewport={"width": width, "height": height}, locale=lang)
                c.add_cookies(ctx.cookies())
                pg = c.new_page()
                pg.goto(f"/recommendations/{gone[0]}/why/")
                pg.screenshot(path=f"{OUT}/left-{lang[:2]}-{width}.png", full_page=True)
                print(lang, pg.locator("main").inner_text()[:400], flush=True)
            b.close()
    finally:
        stack.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")

"""Screenshot of the page answering one question (the image in the README): serves BUNDLE on 127.0.0.1,
opens `/` in Debian's headless Chromium, uploads the question's photo, asks, and saves a PNG.

    python docs/screenshot_page.py demo-output --question-id e00031-q1 --out docs/img/serve-demo.png
    python docs/screenshot_page.py wiki-output --question "Where was Abraham Lincoln born?" --out /tmp/p.png
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--question-id", help="a question of the bundle's evaluation split (with its photo)")
    which.add_argument("--question", help="any question text, asked without a photo")
    ap.add_argument("--out", type=Path, default=Path("docs/img/serve-demo.png"))
    ap.add_argument("--width", type=int, default=1200)
    args = ap.parse_args()

    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from kvqae.ask.answer import Answerer
    from kvqae.data.questions import load_questions
    from kvqae.serve.app import create_app

    answerer = Answerer.load(args.bundle)
    answerer.warm_up()  # as `kvqae serve` does: the timings shown are those of a warm server
    if args.question is not None:
        text, image = args.question, None
    else:
        question = {q.id: q for q in load_questions(answerer.bundle.examples)}[args.question_id]
        text, image = question.question, question.image
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(answerer), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--window-size={args.width},1000", "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        if image:  # a text-only bundle's questions (make wiki) have none
            driver.find_element(By.ID, "image-input").send_keys(str(Path(image).resolve()))
        driver.find_element(By.ID, "question").send_keys(text)
        driver.find_element(By.ID, "ask-button").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "result").is_displayed())
        time.sleep(1.0)  # thumbnails
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(args.width, height)
        time.sleep(0.5)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(args.out))
        print(f"{args.out}: answer {driver.find_element(By.ID, 'answer').text!r}")
    finally:
        driver.quit()
        server.should_exit = True


if __name__ == "__main__":
    main()

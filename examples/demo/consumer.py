"""Demo consumer: a Flask shop that asks the provider with `requests` before answering.

Its log lines carry the trace id (`%(tid)s`), an out-of-stock item is logged as a warning
(which the log reporter sends with its trace), and purchases and prices are meters."""

import logging
import os

import requests
from flask import Flask, jsonify

from skywalking.decorators import trace
from skywalking.meter.counter import Counter, CounterMode
from skywalking.meter.histogram import Histogram

logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s [trace %(tid)s] %(name)s: %(message)s')
log = logging.getLogger('shop')
purchases = Counter.Builder('shop_purchases', CounterMode.INCREMENT, (('shop', 'demo'),)).build()
prices = Histogram.Builder('shop_price', [1, 5, 10]).build()

PROVIDER = f'http://127.0.0.1:{os.environ.get("PROVIDER_PORT", "9091")}'
app = Flask(__name__)


@trace(op='price-calculation')
def price(item: str) -> float:
    return round(len(item) * 1.25, 2)


@app.route('/buy/<item>')
def buy(item: str):
    stock = requests.get(f'{PROVIDER}/inventory/{item}', timeout=5).json()
    if not stock['in_stock']:
        log.warning('%s is out of stock', item)
        return jsonify({'item': item, 'error': 'out of stock'}), 409
    cost = price(item)
    purchases.increment(1)
    prices.add_value(cost)
    log.info('sold %s for %.2f', item, cost)
    return jsonify({'item': item, 'price': cost})


app.run(host='127.0.0.1', port=int(os.environ.get('PORT', '9090')), threaded=True)

"""kvqae.evaluate"""
